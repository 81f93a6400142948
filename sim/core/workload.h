#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qxbar {

enum class LayerKind { Conv, Dense, MatMul };

const char* to_string(LayerKind kind);

// What the accelerator executes for one layer: a matrix of input_dim x output_dim weights applied
// mvm_invocations times (once per output pixel or token), the whole repeated repeat_factor times with
// different weights (e.g. attention heads).
struct LayerShape {
  std::string name;
  LayerKind kind = LayerKind::Conv;
  std::int64_t input_dim = 0;   // crossbar rows before signed mapping: Cin * Kh * Kw
  std::int64_t output_dim = 0;  // crossbar columns before slicing and signed mapping: Cout
  std::int64_t mvm_invocations = 1;
  std::int64_t repeat_factor = 1;
};

// How a traced layer's matrix arose from the network: what a search's state embedding describes a layer
// by (HAQ's features), beyond the matrix the chip sees. Workloads read from files do not have it.
struct LayerGeometry {
  std::int64_t in_channels = 0;   // input features of a dense layer
  std::int64_t out_channels = 0;
  std::int64_t kernel = 1;        // side of a square kernel; 1 for dense layers
  std::int64_t stride = 1;
  std::int64_t feature_size = 1;  // input height * width; 1 for dense layers
  std::int64_t parameters = 0;    // weights, biases excluded
};

// Elements of a layer's input for one sample: a convolution reads its input feature map, a dense or
// matrix-product layer one vector per invocation; times the repeats.
double input_elements(const LayerShape& layer, const LayerGeometry& geometry);

struct Workload {
  std::string name;
  std::vector<LayerShape> layers;
};

// Reads CIM-AQ's layer-dimension format (`layer_dimensions:` list with type, input_dim, output_dim,
// mvm_invocations, repeat_factor). Dimensions may be written as products such as 64*3*3.
Workload load_cimaq_layer_file(const std::string& path);

// Writes the same format, so a traced or built-in workload can be fed to CIM-AQ's own scripts.
std::string cimaq_layer_file_text(const Workload& workload);

}  // namespace qxbar
