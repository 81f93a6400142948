#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace qxbar {

// One swept chip key and the values it takes, as YAML scalars (validated when each chip is built).
struct SweepAxis {
  std::string key;
  std::vector<std::string> values;
};

// A sweep file (experiments/sweeps/*.yaml), read strictly: a base chip, a grid over dotted chip keys,
// the networks (built-in names or CIM-AQ layer files) and the policies ("W,A" or policy files).
struct SweepPlan {
  std::string base_chip = "cimaq_default";
  std::vector<SweepAxis> axes;
  std::vector<std::string> networks;
  std::vector<std::string> policies;
  std::string engine = "systemc";
  std::string fingerprint;  // of everything above, files by their contents: a database holds one plan

  std::vector<std::string> keys() const;  // the swept chip keys, in the sweep file's order
};

SweepPlan load_sweep(const std::string& path);

// One point of the grid: a value per axis, a network and a policy. Points are numbered in a fixed
// order (the last axis varies fastest, then networks, then policies), so every process agrees on them.
struct SweepPoint {
  std::size_t index = 0;
  std::vector<std::string> values;
  std::string network;
  std::string policy;
};

std::vector<SweepPoint> expand(const SweepPlan& plan);

// The indices of the points that shard `shard` of `shards` prices. Points are dealt in a fixed
// pseudo-random order, so every shard gets as many points and a fair share of the large and small ones
// however the grid is laid out.
std::vector<std::size_t> deal(std::size_t points, std::size_t shard, std::size_t shards);

}  // namespace qxbar
