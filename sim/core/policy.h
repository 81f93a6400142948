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
//
// Weights may take one width per output channel (per-channel mixed precision, Rusci et al.'s MixPC): then
// `channel_w` holds them and `w` is the widest, which is what the layer needs wherever one width is asked
// for (a search's state, a table's column). On the chip each output channel's columns take the slices of its
// own width.
struct Bits {
  Bits() = default;
  Bits(int weight_bits, int input_bits, std::optional<double> read_energy = std::nullopt)
      : w(weight_bits), a(input_bits), read_energy_fj_per_cell(read_energy) {}
  // Throws std::invalid_argument for an empty list.
  static Bits per_channel(std::vector<int> channel_weight_bits, int input_bits,
                          std::optional<double> read_energy = std::nullopt);
  int w = 8;
  int a = 8;
  std::optional<double> read_energy_fj_per_cell;
  std::vector<int> channel_w;  // empty: every channel at w

  bool is_per_channel() const { return !channel_w.empty(); }
  bool operator==(const Bits& other) const {
    return w == other.w && a == other.a && read_energy_fj_per_cell == other.read_energy_fj_per_cell &&
           channel_w == other.channel_w;
  }
};

constexpr int kMaxPolicyBits = 16;

// One Bits per layer of a workload, in the workload's layer order.
struct Policy {
  std::vector<Bits> layers;
  bool is_per_channel() const;
};

Policy uniform_policy(const Workload& workload, Bits bits);

// "W,A" as given to --bits, e.g. "4,8".
Bits parse_bits(const std::string& text, const std::string& origin);

// Reads qxbar's YAML policy (layer name -> {w_bits, a_bits[, read_energy_fj_per_cell]}, w_bits either one
// width or a list of one per output channel) or CIM-AQ's .npy ([layers, 2] of weight and activation bits;
// [layers, 3] adds the energies, 0 for the chip's), chosen by the file extension, and checks it against
// the workload's layers.
Policy load_policy(const std::string& path, const Workload& workload);

std::string policy_yaml_text(const Workload& workload, const Policy& policy);
// CIM-AQ's array has no room for widths per channel: std::invalid_argument for a per-channel policy.
std::string policy_npy_bytes(const Policy& policy);
// Writes `stem`.yaml and, when CIM-AQ's format can hold the policy, `stem`.npy, each atomically.
void write_policy_files(const std::string& stem, const Workload& workload, const Policy& policy);

// A layer's weight bits for tables: "4", or per channel "[4x10,2x6]" (runs of one width as width x channels).
std::string weight_bits_text(const Bits& bits);
// The mean weight width over a layer's output channels.
double mean_weight_bits(const Bits& bits);

// Compact form for tables and logs: "8/8;4/5@2.5;[4x10,2x6]/8;..." (weight/activation[@energy per cell
// read] per layer; per-channel weight widths in brackets, runs of one width as width x channels).
std::string policy_summary(const Policy& policy);
// Reads that form back; `origin` names where it came from in errors.
Policy parse_policy_summary(const std::string& text, const std::string& origin);

}  // namespace qxbar
