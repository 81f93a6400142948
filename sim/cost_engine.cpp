#include "sim/cost_engine.h"

#include "sim/core/checked.h"

namespace qxbar {

NetworkCost price_network(const CostEngine& engine, const Workload& workload, const Policy& policy) {
  if (policy.layers.size() != workload.layers.size()) {
    throw DataError("policy has " + std::to_string(policy.layers.size()) + " layers, " + workload.name + " has " +
                    std::to_string(workload.layers.size()));
  }
  NetworkCost network;
  for (std::size_t i = 0; i < workload.layers.size(); ++i) {
    LayerCost layer;
    try {
      layer = engine.price(workload.layers[i], policy.layers[i]);
      network.counts += layer.counts;
    } catch (const CountOverflow& overflow) {
      throw CountOverflow(workload.name + ", layer " + workload.layers[i].name + ": " + overflow.what() +
                          "; the layer is too large to price");
    }
    network.latency_ns += layer.latency_ns;
    network.energy_pj += layer.energy_pj;
    network.layers.push_back(std::move(layer));
  }
  return network;
}

}  // namespace qxbar
