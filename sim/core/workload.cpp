#include "sim/core/workload.h"

#include <filesystem>
#include <limits>
#include <sstream>

#include "sim/core/yaml_reading.h"

namespace qxbar {

double input_elements(const LayerShape& layer, const LayerGeometry& geometry) {
  const double positions = layer.kind == LayerKind::Conv ? static_cast<double>(geometry.feature_size)
                                                         : static_cast<double>(layer.mvm_invocations);
  return static_cast<double>(geometry.in_channels) * positions * static_cast<double>(layer.repeat_factor);
}
namespace {

// A dimension is a positive integer or a product of them ("64*3*3"); nothing else is evaluated.
std::int64_t parse_dimension(const YAML::Node& node, const std::string& file, const std::string& key) {
  if (!node.IsScalar()) throw ConfigError(located_message(location_of(node, file), key, "expected an integer"));
  const std::string& text = node.Scalar();
  std::int64_t product = 1;
  std::size_t start = 0;
  while (true) {
    const std::size_t star = text.find('*', start);
    std::string factor_text = text.substr(start, star == std::string::npos ? std::string::npos : star - start);
    const auto first = factor_text.find_first_not_of(" \t");
    const auto last = factor_text.find_last_not_of(" \t");
    factor_text = first == std::string::npos ? "" : factor_text.substr(first, last - first + 1);
    std::int64_t factor = 0;
    try {
      factor = scalar_integer(YAML::Node(factor_text), location_of(node, file), key);
    } catch (const ConfigError&) {
      throw ConfigError(located_message(location_of(node, file), key,
                                        "expected an integer or a product like 64*3*3, got '" + text + "'"));
    }
    if (factor <= 0) {
      throw ConfigError(located_message(location_of(node, file), key, "must be positive, got '" + text + "'"));
    }
    if (product > std::numeric_limits<std::int64_t>::max() / factor) {
      throw ConfigError(located_message(location_of(node, file), key, "value too large: '" + text + "'"));
    }
    product *= factor;
    if (star == std::string::npos) break;
    start = star + 1;
  }
  return product;
}

LayerKind parse_kind(const YAML::Node& node, const std::string& file, const std::string& key) {
  const std::string text = scalar_text(node, location_of(node, file), key);
  if (text == "Conv2D") return LayerKind::Conv;
  if (text == "Dense") return LayerKind::Dense;
  if (text == "MatMul") return LayerKind::MatMul;
  throw ConfigError(located_message(location_of(node, file), key,
                                    "must be one of Conv2D, Dense, MatMul, got '" + text + "'"));
}

const char* cimaq_type_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::Conv: return "Conv2D";
    case LayerKind::Dense: return "Dense";
    case LayerKind::MatMul: return "MatMul";
  }
  return "?";
}

}  // namespace

const char* to_string(LayerKind kind) {
  switch (kind) {
    case LayerKind::Conv: return "conv";
    case LayerKind::Dense: return "dense";
    case LayerKind::MatMul: return "matmul";
  }
  return "?";
}

Workload load_cimaq_layer_file(const std::string& path) {
  StrictMap document(load_yaml_file(path), path, "");
  const YAML::Node entries = document.take("layer_dimensions");
  document.reject_unknown_keys();
  if (!entries.IsSequence() || entries.size() == 0) {
    throw ConfigError(located_message(location_of(entries, path), "layer_dimensions",
                                      "expected a non-empty list of layers"));
  }
  Workload workload;
  workload.name = std::filesystem::path(path).stem().string();
  for (std::size_t index = 0; index < entries.size(); ++index) {
    const std::string prefix = "layer_dimensions[" + std::to_string(index) + "]";
    StrictMap entry(entries[index], path, prefix);
    LayerShape layer;
    layer.kind = parse_kind(entry.take("type"), path, entry.key_path("type"));
    layer.name = std::string(to_string(layer.kind)) + std::to_string(index);
    layer.output_dim = parse_dimension(entry.take("output_dim"), path, entry.key_path("output_dim"));
    layer.input_dim = parse_dimension(entry.take("input_dim"), path, entry.key_path("input_dim"));
    if (const YAML::Node node = entry.take_optional("mvm_invocations")) {
      layer.mvm_invocations = parse_dimension(node, path, entry.key_path("mvm_invocations"));
    }
    if (const YAML::Node node = entry.take_optional("repeat_factor")) {
      layer.repeat_factor = parse_dimension(node, path, entry.key_path("repeat_factor"));
    }
    entry.reject_unknown_keys();
    workload.layers.push_back(layer);
  }
  return workload;
}

std::string cimaq_layer_file_text(const Workload& workload) {
  std::ostringstream out;
  out << "# " << workload.name << ": one entry per layer, in execution order\nlayer_dimensions:\n";
  for (const LayerShape& layer : workload.layers) {
    out << "  - type: " << cimaq_type_name(layer.kind) << "  # " << layer.name << "\n"
        << "    output_dim: " << layer.output_dim << "\n"
        << "    input_dim: " << layer.input_dim << "\n"
        << "    mvm_invocations: " << layer.mvm_invocations << "\n";
    if (layer.repeat_factor != 1) out << "    repeat_factor: " << layer.repeat_factor << "\n";
  }
  return out.str();
}

}  // namespace qxbar
