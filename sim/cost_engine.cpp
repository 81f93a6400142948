#include "sim/cost_engine.h"

#include "sim/analytical_engine.h"
#include "sim/cost_cache.h"
#include "sim/systemc_engine.h"

namespace qxbar {

std::vector<std::string> cost_engine_names() { return {"analytical", "systemc"}; }

std::unique_ptr<CostEngine> make_cost_engine(const std::string& name, const ChipSpec& chip,
                                             std::shared_ptr<CostCache> cache) {
  std::unique_ptr<CostEngine> engine;
  if (name == "analytical") {
    engine = std::make_unique<AnalyticalEngine>(chip);
  } else if (name == "systemc") {
    engine = std::make_unique<SystemcEngine>(chip);
  } else {
    throw ConfigError("--engine " + name + ": unknown engine (choose analytical or systemc)");
  }
  if (cache) return std::make_unique<CachedEngine>(std::move(engine), std::move(cache));
  return engine;
}

NetworkCost price_network(const CostEngine& engine, const Workload& workload, const Policy& policy) {
  if (policy.layers.size() != workload.layers.size()) {
    throw DataError("policy has " + std::to_string(policy.layers.size()) + " layers, " + workload.name + " has " +
                    std::to_string(workload.layers.size()));
  }
  NetworkCost network;
  for (std::size_t i = 0; i < workload.layers.size(); ++i) {
    LayerCost layer = engine.price(workload.layers[i], policy.layers[i]);
    network.latency_ns += layer.latency_ns;
    network.counts += layer.counts;
    network.energy_pj += layer.energy_pj;
    network.layers.push_back(std::move(layer));
  }
  return network;
}

}  // namespace qxbar
