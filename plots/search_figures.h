#pragma once

#include <string>
#include <vector>

#include "plots/figure.h"
#include "search/search_store.h"

namespace qxbar {

// A search run folder as the figures see it: its name (the folder's) and its evaluated policies.
struct SearchRunData {
  std::string name;
  std::vector<EvaluatedPolicy> rows;
};

// Reads DIR/search.sqlite; a folder without one is a DataError.
SearchRunData read_search_run(const std::string& directory);

// The figures of one or more search runs, overlaid with a legend when there are several:
// pareto_latency and pareto_energy (accuracy against cost of every evaluated policy, the Pareto front,
// the labelled uniform baselines and the chosen policy), bits (per-layer weight and activation bits of
// each run's chosen policy) and progress (reward and best reward so far per episode).
std::vector<Figure> search_figures(const std::vector<SearchRunData>& runs);

}  // namespace qxbar
