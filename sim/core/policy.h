#pragma once

#include <string>
#include <vector>

#include "sim/core/workload.h"

namespace qxbar {

// Bits of one layer: weights and input activations.
struct Bits {
  int w = 8;
  int a = 8;
  bool operator==(const Bits& other) const { return w == other.w && a == other.a; }
};

constexpr int kMaxPolicyBits = 16;

// One Bits per layer of a workload, in the workload's layer order.
struct Policy {
  std::vector<Bits> layers;
};

Policy uniform_policy(const Workload& workload, Bits bits);

// "W,A" as given to --bits, e.g. "4,8".
Bits parse_bits(const std::string& text, const std::string& origin);

// Reads qxbar's YAML policy (layer name -> {w_bits, a_bits}) or CIM-AQ's .npy ([layers, 2] of weight and
// activation bits), chosen by the file extension, and checks it against the workload's layers.
Policy load_policy(const std::string& path, const Workload& workload);

std::string policy_yaml_text(const Workload& workload, const Policy& policy);
std::string policy_npy_bytes(const Policy& policy);

// Compact form for tables and logs: "8/8;4/5;..." (weight/activation per layer).
std::string policy_summary(const Policy& policy);
// Reads that form back; `origin` names where it came from in errors.
Policy parse_policy_summary(const std::string& text, const std::string& origin);

}  // namespace qxbar
