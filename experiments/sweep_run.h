#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "experiments/sweep_plan.h"
#include "experiments/sweep_team.h"

namespace qxbar {

struct SweepOptions {
  std::string database;
  bool resume = false;
  std::size_t shard = 0;  // this process prices deal(points, shard, shards) only (Slurm job arrays)
  std::size_t shards = 1;
  std::string cost_cache;  // priced layers shared across runs; empty for none
  bool show_progress = true;
};

struct SweepOutcome {
  std::size_t points = 0;   // in the grid
  std::size_t skipped = 0;  // stored before (resume)
  std::size_t priced = 0;   // by the whole team
  std::size_t invalid = 0;  // recorded with the reason, not priced
  std::optional<std::size_t> evaluated;  // accuracies new to the database; none when the sweep tests no checkpoint
  double seconds = 0;       // pricing, from when every rank was ready to the last row stored
};

// Prices the points of this shard not yet in the database and stores a SweepRow for each, invalid points
// with the reason. Each row is committed as it arrives, so a killed sweep loses at most the points in
// flight and never leaves a partial or duplicate row.
// With a team of several ranks, call it on every rank: each reads the sweep file and the first error any
// rank finds is thrown on that rank (SweepStopped on the others). Only rank 0's outcome counts.
SweepOutcome run_sweep(const std::string& sweep_file, const SweepOptions& options, SweepTeam& team);

// Adds the points of other databases of the same plan (the shards of a job array) to `database`;
// returns how many rows it added.
std::size_t merge_sweeps(const SweepPlan& plan, const std::string& database, const std::vector<std::string>& sources);

}  // namespace qxbar
