#include "sim/core/npy.h"

#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>
#include <regex>

#include "sim/core/atomic_file.h"
#include "sim/core/errors.h"

namespace qxbar {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicSize = 6;

template <typename T>
T load_little_endian(const unsigned char* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));  // qxbar targets little-endian hosts, as NumPy's '<' types are
  return value;
}

double element(const unsigned char* bytes, char kind, std::size_t width) {
  if (kind == 'f' && width == 8) return load_little_endian<double>(bytes);
  if (kind == 'f' && width == 4) return load_little_endian<float>(bytes);
  if (kind == 'i' && width == 8) return static_cast<double>(load_little_endian<std::int64_t>(bytes));
  if (kind == 'i' && width == 4) return load_little_endian<std::int32_t>(bytes);
  if (kind == 'i' && width == 2) return load_little_endian<std::int16_t>(bytes);
  if (kind == 'i' && width == 1) return load_little_endian<std::int8_t>(bytes);
  if (kind == 'u' && width == 8) return static_cast<double>(load_little_endian<std::uint64_t>(bytes));
  if (kind == 'u' && width == 4) return load_little_endian<std::uint32_t>(bytes);
  if (kind == 'u' && width == 2) return load_little_endian<std::uint16_t>(bytes);
  return load_little_endian<std::uint8_t>(bytes);
}

// Python's tuple spelling: "(3,)" for one dimension, "(2, 8, 8)" otherwise.
std::string shape_text(const std::vector<std::size_t>& shape) {
  if (shape.size() == 1) return "(" + std::to_string(shape[0]) + ",)";
  std::string text = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + ")";
}

}  // namespace

NpyArray read_npy(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream) throw DataError(path + ": cannot open file");
  if (std::filesystem::is_directory(path)) throw DataError(path + ": is a folder, not a file");
  note_input_file(path);
  const std::string bytes((std::istreambuf_iterator<char>(stream)), std::istreambuf_iterator<char>());
  const auto fail = [&](const std::string& reason) { return DataError(path + ": not a usable .npy file: " + reason); };

  if (bytes.size() < kMagicSize + 4 || bytes.compare(0, kMagicSize, kMagic, kMagicSize) != 0) {
    throw fail("missing the NUMPY magic string");
  }
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const int major = data[6];
  std::size_t header_length = 0;
  std::size_t header_start = 0;
  if (major == 1) {
    header_length = data[8] | (data[9] << 8);
    header_start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw fail("truncated header");
    header_length = load_little_endian<std::uint32_t>(data + 8);
    header_start = 12;
  } else {
    throw fail("unsupported format version " + std::to_string(major));
  }
  if (bytes.size() < header_start + header_length) throw fail("truncated header");
  const std::string header = bytes.substr(header_start, header_length);

  std::smatch match;
  if (!std::regex_search(header, match, std::regex(R"('descr'\s*:\s*'([<|=])([fiu])(\d{1,2})')"))) {
    throw fail("unsupported dtype in header " + header);
  }
  const char kind = match[2].str()[0];
  const std::size_t width = std::stoul(match[3].str());  // at most two digits: no overflow
  const bool supported_width = kind == 'f' ? (width == 4 || width == 8) : (width == 1 || width == 2 || width == 4 || width == 8);
  if (!supported_width) throw fail("unsupported element width " + std::to_string(width));
  if (width > 1 && match[1].str() == "|") throw fail("unsupported byte order");
  if (!std::regex_search(header, std::regex(R"('fortran_order'\s*:\s*False)"))) {
    throw fail("only C-ordered arrays are supported");
  }
  if (!std::regex_search(header, match, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) throw fail("no shape in header");

  NpyArray array;
  const std::string dims = match[1].str();
  std::size_t count = 1;
  std::size_t from = 0;
  while (from <= dims.size()) {
    const std::size_t comma = std::min(dims.find(',', from), dims.size());
    const std::string entry = std::regex_replace(dims.substr(from, comma - from), std::regex(R"(^\s+|\s+$)"), "");
    from = comma + 1;
    if (entry.empty() && from > dims.size()) break;  // after the trailing comma of (n,), or in ()
    std::size_t extent = 0;
    const auto [end, error] = std::from_chars(entry.data(), entry.data() + entry.size(), extent);
    if (entry.empty() || error != std::errc() || end != entry.data() + entry.size()) {
      throw fail("shape entry '" + entry + "' is not a count");
    }
    if (__builtin_mul_overflow(count, extent, &count)) throw fail("shape " + dims + " holds more elements than memory");
    array.shape.push_back(extent);
  }
  std::size_t body_size = 0;
  if (__builtin_mul_overflow(count, width, &body_size)) throw fail("shape " + dims + " holds more bytes than memory");
  std::smatch key;
  for (std::string rest = header; std::regex_search(rest, key, std::regex(R"('(\w+)'\s*:)")); rest = key.suffix()) {
    if (key[1] != "descr" && key[1] != "fortran_order" && key[1] != "shape") throw fail("unknown header key '" + key[1].str() + "'");
  }
  const std::size_t body = header_start + header_length;
  if (bytes.size() - body != body_size) {
    throw fail("body holds " + std::to_string(bytes.size() - body) + " bytes, shape needs " + std::to_string(body_size));
  }
  array.values.reserve(count);
  for (std::size_t i = 0; i < count; ++i) array.values.push_back(element(data + body + i * width, kind, width));
  return array;
}

std::string encode_npy(const NpyArray& array, NpyType type) {
  const std::size_t count =
      std::accumulate(array.shape.begin(), array.shape.end(), std::size_t{1}, std::multiplies<>());
  if (count != array.values.size()) throw std::invalid_argument("encode_npy: values do not match shape");
  const std::string shape = shape_text(array.shape);

  std::string header = std::string("{'descr': '") + (type == NpyType::Float64 ? "<f8" : "<i8") +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // The format pads the header with spaces so the data starts on a 64-byte boundary.
  const std::size_t unpadded = kMagicSize + 4 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';

  std::string bytes(kMagic, kMagicSize);
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>((header.size() >> 8) & 0xff);
  bytes += header;
  for (const double value : array.values) {
    char element_bytes[8];
    if (type == NpyType::Float64) {
      std::memcpy(element_bytes, &value, 8);
    } else {
      const auto integer = static_cast<std::int64_t>(value);
      std::memcpy(element_bytes, &integer, 8);
    }
    bytes.append(element_bytes, 8);
  }
  return bytes;
}

}  // namespace qxbar
