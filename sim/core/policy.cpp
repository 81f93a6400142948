#include "sim/core/policy.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include "sim/core/npy.h"
#include "sim/core/yaml_reading.h"

namespace qxbar {
namespace {

int checked_bits(std::int64_t value, const SourceLocation& where, const std::string& key) {
  if (value < 1 || value > kMaxPolicyBits) {
    throw DataError(located_message(where, key, "bits must be 1 to " + std::to_string(kMaxPolicyBits) +
                                                    ", got " + std::to_string(value)));
  }
  return static_cast<int>(value);
}

Policy load_policy_yaml(const std::string& path, const Workload& workload) {
  YAML::Node document;
  try {
    document = load_yaml_file(path);
  } catch (const ConfigError& error) {
    throw DataError(error.what());
  }
  try {
    StrictMap top(document, path, "");
    const YAML::Node layers = top.take("layers");
    top.take_optional("network");  // informational: which workload the policy was made for
    top.reject_unknown_keys();
    StrictMap by_name(layers, path, "layers");
    Policy policy;
    for (const LayerShape& layer : workload.layers) {
      if (!by_name.has(layer.name)) {
        throw DataError(located_message(location_of(layers, path), "layers." + layer.name,
                                        "no bits for this layer of " + workload.name));
      }
      StrictMap entry(by_name.take(layer.name), path, by_name.key_path(layer.name));
      const YAML::Node w = entry.take("w_bits");
      const YAML::Node a = entry.take("a_bits");
      entry.reject_unknown_keys();
      const auto read_bits = [&](const YAML::Node& node, const std::string& key) {
        const SourceLocation where = location_of(node, path);
        return checked_bits(scalar_integer(node, where, entry.key_path(key)), where, entry.key_path(key));
      };
      policy.layers.push_back({read_bits(w, "w_bits"), read_bits(a, "a_bits")});
    }
    by_name.reject_unknown_keys();
    return policy;
  } catch (const ConfigError& error) {
    throw DataError(error.what());
  }
}

Policy load_policy_npy(const std::string& path, const Workload& workload) {
  const NpyArray array = read_npy(path);
  if (array.shape.size() != 2 || array.shape[1] != 2) {
    throw DataError(path + ": policy array must have shape [layers, 2], got " + std::to_string(array.shape.size()) +
                    " dimensions");
  }
  if (array.shape[0] != workload.layers.size()) {
    throw DataError(path + ": policy has " + std::to_string(array.shape[0]) + " layers, " + workload.name +
                    " has " + std::to_string(workload.layers.size()));
  }
  Policy policy;
  for (std::size_t layer = 0; layer < array.shape[0]; ++layer) {
    int bits[2];
    for (int column = 0; column < 2; ++column) {
      const double value = array.values[layer * 2 + column];
      const std::string key = "[" + std::to_string(layer) + "," + std::to_string(column) + "]";
      if (value != std::floor(value)) throw DataError(path + ": " + key + ": bits must be whole numbers");
      bits[column] = checked_bits(static_cast<std::int64_t>(value), {path}, key);
    }
    policy.layers.push_back({bits[0], bits[1]});
  }
  return policy;
}

}  // namespace

Policy uniform_policy(const Workload& workload, Bits bits) {
  return Policy{std::vector<Bits>(workload.layers.size(), bits)};
}

Bits parse_bits(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  int w = 0;
  int a = 0;
  char comma = 0;
  if (!(in >> w >> comma >> a) || comma != ',' || !in.eof()) {
    throw ConfigError(origin + ": expected W,A such as 4,8, got '" + text + "'");
  }
  checked_bits(w, {origin}, "");
  checked_bits(a, {origin}, "");
  return {w, a};
}

Policy load_policy(const std::string& path, const Workload& workload) {
  if (!std::filesystem::exists(path)) throw DataError(path + ": no such policy file");
  const std::string extension = std::filesystem::path(path).extension().string();
  if (extension == ".npy") return load_policy_npy(path, workload);
  if (extension == ".yaml" || extension == ".yml") return load_policy_yaml(path, workload);
  throw DataError(path + ": policy files are .yaml or .npy");
}

std::string policy_yaml_text(const Workload& workload, const Policy& policy) {
  std::ostringstream out;
  out << "network: " << workload.name << "\nlayers:\n";
  for (std::size_t i = 0; i < workload.layers.size(); ++i) {
    out << "  " << workload.layers[i].name << ": {w_bits: " << policy.layers[i].w
        << ", a_bits: " << policy.layers[i].a << "}\n";
  }
  return out.str();
}

std::string policy_npy_bytes(const Policy& policy) {
  NpyArray array{{policy.layers.size(), 2}, {}};
  for (const Bits& bits : policy.layers) {
    array.values.push_back(bits.w);
    array.values.push_back(bits.a);
  }
  return encode_npy(array, NpyType::Int64);
}

std::string policy_summary(const Policy& policy) {
  std::string text;
  for (const Bits& bits : policy.layers) {
    if (!text.empty()) text += ';';
    text += std::to_string(bits.w) + "/" + std::to_string(bits.a);
  }
  return text;
}

Policy parse_policy_summary(const std::string& text, const std::string& origin) {
  Policy policy;
  std::istringstream in(text);
  std::string layer;
  while (std::getline(in, layer, ';')) {
    const std::size_t slash = layer.find('/');
    if (slash == std::string::npos) throw DataError(origin + ": expected W/A per layer such as 8/8;4/5, got '" + text + "'");
    policy.layers.push_back(parse_bits(layer.substr(0, slash) + "," + layer.substr(slash + 1), origin));
  }
  if (policy.layers.empty()) throw DataError(origin + ": empty policy");
  return policy;
}

}  // namespace qxbar
