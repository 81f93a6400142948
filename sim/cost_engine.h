#pragma once

#include <memory>
#include <string>
#include <vector>

#include "sim/chip_spec.h"
#include "sim/core/policy.h"
#include "sim/core/workload.h"
#include "sim/energy.h"
#include "sim/mapper.h"

namespace qxbar {

struct LayerCost {
  LayerMapping mapping;
  double latency_ns = 0;  // everything the layer occupies the chip for, weight writes included
  double write_ns = 0;    // the part of latency spent programming crossbars
  ActionCounts counts;
  PerComponent energy_pj;
};

struct NetworkCost {
  std::vector<LayerCost> layers;
  double latency_ns = 0;
  ActionCounts counts;
  PerComponent energy_pj;
};

// Prices one layer at given bits on one chip. Implementations differ in how they find the time: in
// closed form, or by simulating the hardware.
class CostEngine {
 public:
  virtual ~CostEngine() = default;
  virtual LayerCost price(const LayerShape& layer, Bits bits) const = 0;
  virtual const ChipSpec& chip() const = 0;
  // Name and model version, e.g. "systemc/1": part of every cache key, so a changed model never serves
  // stale costs. Bump the version whenever the engine's numbers change.
  virtual std::string identity() const = 0;
};

// Layer after layer: the network's latency and energy are the sums over its layers.
NetworkCost price_network(const CostEngine& engine, const Workload& workload, const Policy& policy);

}  // namespace qxbar
