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
  std::string fingerprint;  // of everything above: a database holds the points of one plan
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

struct SweepOptions {
  std::string database;
  bool resume = false;
  std::size_t shard = 0;   // this process prices the points with index % shards == shard
  std::size_t shards = 1;
  bool show_progress = true;
};

struct SweepOutcome {
  std::size_t points = 0;   // in the grid
  std::size_t skipped = 0;  // stored before (resume)
  std::size_t priced = 0;
  std::size_t invalid = 0;  // recorded with the reason, not priced
};

// Prices the points of this shard not yet in the database, each committed as one row: every swept key as
// a column, network, policy, status (ok, or the reason the point is invalid), latency_ns, energy_pj,
// area_mm2, energy per component and the chip fingerprint. A killed sweep loses only the point in flight.
SweepOutcome run_sweep(const SweepPlan& plan, const SweepOptions& options);

// The database's table as CSV, rows in point order.
std::string sweep_csv(const std::string& database);

}  // namespace qxbar
