#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qxbar {

// A NumPy array reduced to what qxbar exchanges with CIM-AQ: a shape and its values in C order.
struct NpyArray {
  std::vector<std::size_t> shape;
  std::vector<double> values;
};

// Reads .npy versions 1-3 holding little-endian integers, unsigned integers or floats (any width) in C
// order. Any other content (Fortran order, objects, big-endian, a truncated body) is a DataError.
NpyArray read_npy(const std::string& path);

enum class NpyType { Float64, Int64 };

// Encodes a .npy (version 1.0) file's bytes; values must match the product of the shape.
std::string encode_npy(const NpyArray& array, NpyType type);

}  // namespace qxbar
