#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "sim/cost_engine.h"

namespace qxbar {

struct TileGroup;

// Prices layers by simulating the chip's blocks in SystemC (see blocks.h): latency is what the simulation
// clock reads when the last output is written. Each engine owns a private kernel context holding one
// layer datapath, built once and given one job after another; every job starts on a drained datapath and
// is timed from its own start, so results do not depend on what ran before. Not thread-safe: SystemC's
// current context is process-wide.
//
// Reload groups are separated by a barrier: a group is programmed once the previous group's results are
// written. Groups holding the same crossbar shapes therefore take the same time, and are simulated once.
//
// Fast-forward: every invocation of a group does identical work through FIFO-ordered blocks, so once the
// gaps between successive completions stop changing the rest follow at that period. The engine simulates a
// window of invocations, widening it until the last gaps are equal, and extrapolates latency and counts; a
// test holds it equal to the full simulation.
class SystemcEngine : public CostEngine {
 public:
  struct Options {
    bool fast_forward = true;
    std::string trace_vcd;  // when set, the engine's simulations, one after another, are recorded here (VCD)
  };

  // What the engine has simulated so far, for benchmarks.
  struct Activity {
    std::int64_t simulations = 0;
    std::int64_t events = 0;  // work items handled by blocks
  };

  explicit SystemcEngine(ChipSpec chip);
  SystemcEngine(ChipSpec chip, Options options);
  ~SystemcEngine() override;

  LayerCost price(const LayerShape& layer, Bits bits) const override;
  const ChipSpec& chip() const override { return chip_; }
  std::string identity() const override { return "systemc/1"; }

  // All layers resident on their own crossbars at once, running as a pipeline: a layer starts an
  // invocation as soon as its producer has written the proportional share of its outputs. Needs stationary
  // weights and a chip large enough for the whole network. Returns the network latency in ns.
  double pipelined_latency_ns(const Workload& workload, const Policy& policy) const;

  Activity activity() const { return activity_; }

 private:
  struct GroupResult {
    double latency_ns = 0;
    double write_ns = 0;
    ActionCounts counts;
  };
  class Session;
  GroupResult simulate_group(const TileGroup& group, std::int64_t invocations) const;
  Session& session() const;

  ChipSpec chip_;
  Options options_;
  mutable Activity activity_;
  mutable std::unique_ptr<Session> session_;
};

}  // namespace qxbar
