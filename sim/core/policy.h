#pragma once

#include <optional>
#include <string>
#include <vector>

#include "sim/core/workload.h"

namespace qxbar {

// The precision of one layer: weight and input bits and, optionally, the energy its crossbars spend per
// cell read. Energy buys analog precision as bits buy digital precision (Garg et al.): it sets the layer's
// thermal and shot noise and its crossbar energy. Without it the layer uses the chip's
// crossbar.read_energy_fj_per_cell.
struct Bits {
  constexpr Bits() = default;
  constexpr Bits(int weight_bits, int input_bits, std::optional<double> read_energy = std::nullopt)
      : w(weight_bits), a(input_bits), read_energy_fj_per_cell(read_energy) {}
  int w = 8;
  int a = 8;
  std::optional<double> read_energy_fj_per_cell;
  bool operator==(const Bits& other) const {
    return w == other.w && a == other.a && read_energy_fj_per_cell == other.read_energy_fj_per_cell;
  }
};

constexpr int kMaxPolicyBits = 16;

// One Bits per layer of a workload, in the workload's layer order.
struct Policy {
  std::vector<Bits> layers;
};

Policy uniform_policy(const Workload& workload, Bits bits);

// "W,A" as given to --bits, e.g. "4,8".
Bits parse_bits(const std::string& text, const std::string& origin);

// Reads qxbar's YAML policy (layer name -> {w_bits, a_bits[, read_energy_fj_per_cell]}) or CIM-AQ's .npy
// ([layers, 2] of weight and activation bits; [layers, 3] adds the energies, 0 for the chip's), chosen by
// the file extension, and checks it against the workload's layers.
Policy load_policy(const std::string& path, const Workload& workload);

std::string policy_yaml_text(const Workload& workload, const Policy& policy);
std::string policy_npy_bytes(const Policy& policy);

// Compact form for tables and logs: "8/8;4/5@2.5;..." (weight/activation[@energy per cell read] per layer).
std::string policy_summary(const Policy& policy);
// Reads that form back; `origin` names where it came from in errors.
Policy parse_policy_summary(const std::string& text, const std::string& origin);

}  // namespace qxbar
