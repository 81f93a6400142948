#pragma once

#include <string>
#include <vector>

#include "plots/figure.h"
#include "sim/cost_engine.h"

namespace qxbar {

// Per-layer stacked bars of a priced policy: energy_breakdown (energy by hardware component, nJ) and
// latency_breakdown (computing and weight programming, us).
std::vector<Figure> breakdown_figures(const Workload& workload, const NetworkCost& cost, const std::string& title);

}  // namespace qxbar
