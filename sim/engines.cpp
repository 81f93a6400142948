#include "sim/engines.h"

#include "sim/analytical_engine.h"
#include "sim/cost_cache.h"
#include "sim/systemc/systemc_engine.h"

namespace qxbar {

const Registry<CostEngineEntry>& cost_engines() {
  static const Registry<CostEngineEntry> registry(
      "cost engine",
      {
          {"analytical", "the chip's model in closed form under ideal overlap (no contention, data movement hidden)",
           [](const ChipSpec& chip) { return std::make_unique<AnalyticalEngine>(chip); }},
          {"systemc", "the chip simulated cycle by cycle in SystemC",
           [](const ChipSpec& chip) { return std::make_unique<SystemcEngine>(chip); }},
      });
  return registry;
}

std::vector<std::string> cost_engine_names() { return cost_engines().names(); }

std::unique_ptr<CostEngine> make_cost_engine(const std::string& name, const ChipSpec& chip,
                                             std::shared_ptr<CostCache> cache) {
  std::unique_ptr<CostEngine> engine = cost_engines().at(name).make(chip);
  if (cache) return std::make_unique<CachedEngine>(std::move(engine), std::move(cache));
  return engine;
}

}  // namespace qxbar
