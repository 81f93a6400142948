#include "sim/core/policy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <regex>
#include <stdexcept>
#include <sstream>

#include "sim/core/atomic_file.h"
#include "sim/core/npy.h"
#include "sim/core/yaml_reading.h"

namespace qxbar {
namespace {

// A bound on what a summary may expand to, so a damaged text cannot ask for gigabytes.
constexpr std::size_t kMaxSummaryChannels = std::size_t{1} << 20;

int checked_bits(std::int64_t value, const SourceLocation& where, const std::string& key) {
  if (value < 1 || value > kMaxPolicyBits) {
    throw DataError(located_message(where, key, "bits must be 1 to " + std::to_string(kMaxPolicyBits) +
                                                    ", got " + std::to_string(value)));
  }
  return static_cast<int>(value);
}

double checked_energy(double value, const SourceLocation& where, const std::string& key) {
  if (!std::isfinite(value) || value <= 0) {
    throw DataError(located_message(where, key, "energy per cell read must be a positive number of fJ, got " +
                                                    fmt::format("{}", value)));
  }
  return value;
}

// Names of one network: equal, or one is the other on a dataset ("lenet5" and "lenet5-fmnist").
bool same_network(const std::string& a, const std::string& b) {
  return a == b || a.rfind(b + "-", 0) == 0 || b.rfind(a + "-", 0) == 0;
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
    if (const YAML::Node network = top.take_optional("network")) {
      const SourceLocation where = location_of(network, path);
      const std::string made_for = scalar_text(network, where, "network");
      if (!same_network(made_for, workload.name)) {
        throw DataError(located_message(where, "network", "the policy was made for " + made_for + ", not " + workload.name));
      }
    }
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
      const YAML::Node energy = entry.take_optional("read_energy_fj_per_cell");
      entry.reject_unknown_keys();
      const auto read_bits = [&](const YAML::Node& node, const std::string& key) {
        const SourceLocation where = location_of(node, path);
        return checked_bits(scalar_integer(node, where, entry.key_path(key)), where, entry.key_path(key));
      };
      Bits bits{0, read_bits(a, "a_bits")};
      if (w.IsSequence()) {
        const SourceLocation where = location_of(w, path);
        const std::string key = entry.key_path("w_bits");
        if (static_cast<std::int64_t>(w.size()) != layer.output_dim) {
          throw DataError(located_message(where, key, "one width per output channel: " + layer.name + " has " +
                                                          std::to_string(layer.output_dim) + ", the list " +
                                                          std::to_string(w.size())));
        }
        std::vector<int> widths;
        for (std::size_t c = 0; c < w.size(); ++c) {
          widths.push_back(read_bits(w[c], "w_bits[" + std::to_string(c) + "]"));
        }
        bits = Bits::per_channel(std::move(widths), bits.a);
      } else {
        bits.w = read_bits(w, "w_bits");
      }
      if (energy) {
        const SourceLocation where = location_of(energy, path);
        const std::string key = entry.key_path("read_energy_fj_per_cell");
        bits.read_energy_fj_per_cell = checked_energy(scalar_real(energy, where, key), where, key);
      }
      policy.layers.push_back(bits);
    }
    by_name.reject_unknown_keys();
    return policy;
  } catch (const ConfigError& error) {
    throw DataError(error.what());
  }
}

Policy load_policy_npy(const std::string& path, const Workload& workload) {
  const NpyArray array = read_npy(path);
  if (array.shape.size() != 2 || (array.shape[1] != 2 && array.shape[1] != 3)) {
    throw DataError(path + ": policy array must have shape [layers, 2] or [layers, 3], got " +
                    std::to_string(array.shape.size()) + " dimensions" +
                    (array.shape.size() == 2 ? " of width " + std::to_string(array.shape[1]) : std::string()));
  }
  if (array.shape[0] != workload.layers.size()) {
    throw DataError(path + ": policy has " + std::to_string(array.shape[0]) + " layers, " + workload.name +
                    " has " + std::to_string(workload.layers.size()));
  }
  const std::size_t width = array.shape[1];
  const auto key_of = [](std::size_t layer, std::size_t column) {
    return "[" + std::to_string(layer) + "," + std::to_string(column) + "]";
  };
  Policy policy;
  for (std::size_t layer = 0; layer < array.shape[0]; ++layer) {
    int bits[2];
    for (std::size_t column = 0; column < 2; ++column) {
      const double value = array.values[layer * width + column];
      if (value != std::floor(value)) throw DataError(path + ": " + key_of(layer, column) + ": bits must be whole numbers");
      bits[column] = checked_bits(static_cast<std::int64_t>(value), {path}, key_of(layer, column));
    }
    policy.layers.push_back({bits[0], bits[1]});
    if (width == 3 && array.values[layer * width + 2] != 0) {
      policy.layers.back().read_energy_fj_per_cell = checked_energy(array.values[layer * width + 2], {path}, key_of(layer, 2));
    }
  }
  return policy;
}

// "4x10,2x6": runs of one width as width x channels.
std::vector<int> parse_channel_widths(const std::string& text, const std::string& origin) {
  static const std::regex run(R"((\d{1,2})x(\d{1,7}))");
  std::vector<int> widths;
  if (!text.empty() && text.back() == ',') throw DataError(origin + ": a trailing ',' in per-channel widths '" + text + "'");
  std::istringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    std::smatch match;
    if (!std::regex_match(part, match, run) || std::stoi(match[2]) == 0) {
      throw DataError(origin + ": expected per-channel widths as WIDTHxCHANNELS runs such as [4x10,2x6], got '" + text + "'");
    }
    const int width = checked_bits(std::stoi(match[1]), {origin}, "");
    const auto channels = static_cast<std::size_t>(std::stoi(match[2]));
    if (widths.size() + channels > kMaxSummaryChannels) {
      throw DataError(origin + ": more than " + std::to_string(kMaxSummaryChannels) + " channels in '" + text + "'");
    }
    widths.insert(widths.end(), channels, width);
  }
  if (widths.empty()) throw DataError(origin + ": empty per-channel widths in '" + text + "'");
  return widths;
}

}  // namespace

Bits Bits::per_channel(std::vector<int> channel_weight_bits, int input_bits, std::optional<double> read_energy) {
  if (channel_weight_bits.empty()) throw std::invalid_argument("per-channel weight widths for no channels");
  Bits bits{*std::max_element(channel_weight_bits.begin(), channel_weight_bits.end()), input_bits, read_energy};
  bits.channel_w = std::move(channel_weight_bits);
  return bits;
}

bool Policy::is_per_channel() const {
  return std::any_of(layers.begin(), layers.end(), [](const Bits& bits) { return bits.is_per_channel(); });
}

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
    const Bits& bits = policy.layers[i];
    out << "  " << workload.layers[i].name << ": {w_bits: ";
    if (bits.is_per_channel()) {
      out << "[" << fmt::format("{}", fmt::join(bits.channel_w, ", ")) << "]";
    } else {
      out << bits.w;
    }
    out << ", a_bits: " << bits.a;
    if (bits.read_energy_fj_per_cell) out << ", read_energy_fj_per_cell: " << fmt::format("{}", *bits.read_energy_fj_per_cell);
    out << "}\n";
  }
  return out.str();
}

std::string policy_npy_bytes(const Policy& policy) {
  if (policy.is_per_channel()) throw std::invalid_argument("CIM-AQ's policy array cannot hold widths per channel");
  const bool energies = std::any_of(policy.layers.begin(), policy.layers.end(),
                                    [](const Bits& bits) { return bits.read_energy_fj_per_cell.has_value(); });
  NpyArray array{{policy.layers.size(), energies ? 3U : 2U}, {}};
  for (const Bits& bits : policy.layers) {
    array.values.push_back(bits.w);
    array.values.push_back(bits.a);
    if (energies) array.values.push_back(bits.read_energy_fj_per_cell.value_or(0));
  }
  return encode_npy(array, energies ? NpyType::Float64 : NpyType::Int64);
}

void write_policy_files(const std::string& stem, const Workload& workload, const Policy& policy) {
  write_file_atomically(stem + ".yaml", policy_yaml_text(workload, policy));
  if (!policy.is_per_channel()) write_file_atomically(stem + ".npy", policy_npy_bytes(policy));
}

std::string weight_bits_text(const Bits& bits) {
  if (!bits.is_per_channel()) return std::to_string(bits.w);
  std::string text = "[";
  for (std::size_t c = 0; c < bits.channel_w.size();) {
    std::size_t end = c;
    while (end < bits.channel_w.size() && bits.channel_w[end] == bits.channel_w[c]) ++end;
    if (c > 0) text += ',';
    text += std::to_string(bits.channel_w[c]) + "x" + std::to_string(end - c);
    c = end;
  }
  return text + "]";
}

double mean_weight_bits(const Bits& bits) {
  if (!bits.is_per_channel()) return bits.w;
  return std::accumulate(bits.channel_w.begin(), bits.channel_w.end(), 0.0) / static_cast<double>(bits.channel_w.size());
}

std::string policy_summary(const Policy& policy) {
  std::string text;
  for (const Bits& bits : policy.layers) {
    if (!text.empty()) text += ';';
    text += weight_bits_text(bits);
    text += "/" + std::to_string(bits.a);
    if (bits.read_energy_fj_per_cell) text += "@" + fmt::format("{}", *bits.read_energy_fj_per_cell);
  }
  return text;
}

Policy parse_policy_summary(const std::string& text, const std::string& origin) {
  Policy policy;
  std::istringstream in(text);
  std::string layer;
  while (std::getline(in, layer, ';')) {
    const std::size_t slash = layer.find('/');
    const std::size_t at = layer.find('@');
    if (slash == std::string::npos || (at != std::string::npos && at < slash)) {
      throw DataError(origin + ": expected W/A[@fJ] per layer such as 8/8;4/5@2.5;[4x10,2x6]/8, got '" + text + "'");
    }
    const std::string weights = layer.substr(0, slash);
    const bool per_channel = weights.size() >= 2 && weights.front() == '[' && weights.back() == ']';
    Bits bits = parse_bits((per_channel ? "1" : weights) + "," + layer.substr(slash + 1, at - slash - 1), origin);
    if (per_channel) bits = Bits::per_channel(parse_channel_widths(weights.substr(1, weights.size() - 2), origin), bits.a);
    if (at != std::string::npos) {
      const std::string energy = layer.substr(at + 1);
      std::size_t used = 0;
      double value = 0;
      try {
        value = std::stod(energy, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != energy.size()) throw DataError(origin + ": expected an energy in fJ after '@', got '" + energy + "'");
      bits.read_energy_fj_per_cell = checked_energy(value, {origin}, "");
    }
    policy.layers.push_back(bits);
  }
  if (policy.layers.empty()) throw DataError(origin + ": empty policy");
  return policy;
}

}  // namespace qxbar
