#pragma once

#include "sim/cost_engine.h"

namespace qxbar {

// Closed-form cost under ideal conditions: no contention for buses or buffers, the crossbars of a reload
// group run in lock-step, and data movement hides behind compute. Repetitions (repeat_factor) run one
// after another. On a chip with one crossbar, reprogrammed per layer and without sample-and-hold, this is
// exactly CIM-AQ's formula:
//   latency = repeat * (tiles * t_write + invocations * tiles * ceil(a / dac_bits) * t_execute).
class AnalyticalEngine : public CostEngine {
 public:
  explicit AnalyticalEngine(ChipSpec chip) : chip_(std::move(chip)) {}
  LayerCost price(const LayerShape& layer, Bits bits) const override;
  const ChipSpec& chip() const override { return chip_; }
  std::string identity() const override { return "analytical/1"; }

 private:
  ChipSpec chip_;
};

}  // namespace qxbar
