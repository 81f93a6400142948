#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "nn/trainer.h"
#include "sim/chip_spec.h"
#include "sim/core/errors.h"

namespace qxbar {

// One swept chip key and the values it takes, as YAML scalars (validated when each chip is built).
struct SweepAxis {
  std::string key;
  std::vector<std::string> values;
};

// A chip, network or policy the sweep file names, and where: an error about what it names points there.
struct SweepEntry {
  std::string name;  // a preset, a built-in network, "W,A", or a file (looked for beside the sweep file first)
  SourceLocation where;
  std::string key;  // e.g. networks[2]

  // What `make` builds from the name; its errors are reported at the entry.
  template <typename Make>
  auto load(Make make) const -> decltype(make(name)) {
    try {
      return make(name);
    } catch (const UserError& error) {
      throw ConfigError(located_message(where, key, error.what()));
    }
  }
};

// A sweep's accuracy section: the checkpoint whose accuracy, as each chip computes it, the points of its
// network store, and how much of its dataset tests it.
struct SweepAccuracy {
  SweepEntry checkpoint{"", {}, "accuracy.checkpoint"};
  std::string content;  // the checkpoint file's fingerprint
  ChipTestOptions test;
};

// A sweep file (experiments/sweeps/*.yaml), read strictly: a base chip, a grid over dotted chip keys,
// the networks (built-in names or CIM-AQ layer files), the policies ("W,A" or policy files) and
// optionally a checkpoint to test on every chip.
struct SweepPlan {
  SweepEntry base_chip{"cimaq_default", {}, "chip"};
  std::vector<SweepAxis> axes;
  std::vector<SweepEntry> networks;
  std::vector<SweepEntry> policies;
  std::string engine = "systemc";
  std::optional<SweepAccuracy> accuracy;
  std::string fingerprint;  // of everything above, files by their contents: a database holds one plan

  std::vector<std::string> keys() const;  // the swept chip keys, in the sweep file's order
};

SweepPlan load_sweep(const std::string& path);

// A file's `grid:` mapping, dotted chip keys to lists of values, read strictly (errors at `path`'s line).
std::vector<SweepAxis> read_grid(const YAML::Node& grid, const std::string& path);

// One point of the grid: a value per axis, a network and a policy. Points are numbered in a fixed
// order (the last axis varies fastest, then networks, then policies), so every process agrees on them.
struct SweepPoint {
  std::size_t index = 0;
  std::vector<std::string> values;
  std::string network;
  std::string policy;
};

// The most points one sweep may hold (grid values x networks x policies); load_sweep refuses more.
constexpr std::int64_t kMaxSweepPoints = 10000000;

std::vector<SweepPoint> expand(const SweepPlan& plan);

// The chip at one point of a grid: `base` with each axis's value applied; ConfigError when it cannot exist.
ChipSpec grid_chip(ChipDescription base, const std::vector<SweepAxis>& axes, const std::vector<std::string>& values);

// The chips of a grid, a value per axis each, the last axis varying fastest.
std::vector<std::vector<std::string>> grid_chips(const std::vector<SweepAxis>& axes);

// The indices of the points that shard `shard` of `shards` prices. Points are dealt in a fixed
// pseudo-random order, so every shard gets as many points and a fair share of the large and small ones
// however the grid is laid out.
std::vector<std::size_t> deal(std::size_t points, std::size_t shard, std::size_t shards);

}  // namespace qxbar
