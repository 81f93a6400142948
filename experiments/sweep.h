#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/errors.h"
#include "store/sweep_store.h"

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

// The processes that price one sweep together. Only rank 0 opens the database; the others price their
// deal of the points and send it their rows, so the database never has two writers.
class SweepTeam {
 public:
  virtual ~SweepTeam() = default;
  virtual std::size_t rank() const = 0;
  virtual std::size_t size() const = 0;
  // Collective: every rank gives its error ("" for none); returns the lowest failing rank (size() when
  // none failed) and sets `message` to its error.
  virtual std::size_t first_failure(const std::string& error, std::string& message) = 0;
  // Collective: rank 0's list, on every rank.
  virtual std::vector<std::size_t> share(const std::vector<std::size_t>& from_rank_0) = 0;
  virtual void send(const SweepRow& row) = 0;  // ranks > 0
  virtual void send_done() = 0;                // ranks > 0: no more rows will come
  // Rank 0: the next row another rank sent, nullopt when none is waiting.
  virtual std::optional<SweepRow> receive() = 0;
  // Rank 0: whether every other rank has sent its last row (and receive() has handed them all out).
  virtual bool others_done() const = 0;
  // Ends every rank's process, for a failure the other ranks cannot learn of (they would wait forever).
  [[noreturn]] virtual void abort(int exit_code) = 0;

  // Set once every rank has checked the sweep and the pricing begins: from then on a failure on one rank
  // can only be handled by ending them all.
  bool pricing() const { return pricing_; }
  void start_pricing() { pricing_ = true; }

 private:
  bool pricing_ = false;
};

// A team of one, for a sweep run as a single process.
std::unique_ptr<SweepTeam> solo_team();

// The team this process belongs to: the ranks of its MPI job when an MPI launcher (mpirun, srun) started
// it and qxbar was built with MPI, else a team of one. MPI stays initialised while the team lives.
std::unique_ptr<SweepTeam> join_sweep_team();

// Thrown on the ranks that did not fail when another rank did; that rank reports the error.
class SweepStopped : public UserError {
 public:
  using UserError::UserError;
};

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
  double seconds = 0;       // pricing, from when every rank was ready to the last row stored
};

// Prices the points of this shard not yet in the database, one row each: every swept key as a column,
// network, policy, status (ok, or the reason the point is invalid), latency_ns, energy_pj, area_mm2, energy
// per component and the chip fingerprint. Each row is committed as it arrives, so a killed sweep loses
// at most the points in flight and never leaves a partial or duplicate row.
// With a team of several ranks, call it on every rank: each reads the sweep file and the first error any
// rank finds is thrown on that rank (SweepStopped on the others). Only rank 0's outcome counts.
SweepOutcome run_sweep(const std::string& sweep_file, const SweepOptions& options, SweepTeam& team);

// Adds the points of other databases of the same plan (the shards of a job array) to `database`;
// returns how many rows it added.
std::size_t merge_sweeps(const SweepPlan& plan, const std::string& database, const std::vector<std::string>& sources);

}  // namespace qxbar
