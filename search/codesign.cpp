#include "search/codesign.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <tuple>

#include "sim/core/errors.h"

namespace qxbar {

std::vector<ChipChoice> choose_policies_for_chip(const PolicySpace& space, const CostEngine& engine, const std::string& metric,
                                                 const std::vector<LayerIndicators>& indicators, const LimpqOptions& options,
                                                 const std::vector<double>& budgets) {
  const LimpqCosts costs(space, engine, metric, space.searched_layers("limpq"));
  std::vector<ChipChoice> choices;
  for (const double budget : budgets) {
    ChipChoice choice;
    choice.budget = budget;
    try {
      const LimpqSolution solution = solve_limpq(costs, indicators, options, budget);
      choice.policy = solution.policy;
      choice.objective = solution.objective;
      choice.cost = price_network(engine, space.workload(), solution.policy);
    } catch (const ConfigError& error) {
      choice.problem = error.what();
    }
    choices.push_back(std::move(choice));
  }
  return choices;
}

FinalistSelection select_finalists(const std::vector<CodesignCandidate>& candidates, double target, int finalists, int measurements,
                                   const std::function<std::optional<double>(std::size_t)>& known,
                                   const std::function<double(std::size_t)>& measure) {
  std::vector<std::size_t> order(candidates.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return std::tie(candidates[a].cost, candidates[a].objective) < std::tie(candidates[b].cost, candidates[b].objective);
  });
  FinalistSelection selection;
  std::map<std::size_t, double> least_missing_objective;  // per group
  std::map<std::size_t, double> accuracy_of;              // per measurement made
  int on_target = 0;
  for (const std::size_t candidate : order) {
    if (on_target >= finalists) break;
    const CodesignCandidate& visited = candidates[candidate];
    double accuracy = 0;
    if (const auto made = accuracy_of.find(visited.measurement); made != accuracy_of.end()) {
      accuracy = made->second;
    } else {
      const auto missed = least_missing_objective.find(visited.group);
      if (missed != least_missing_objective.end() && visited.objective >= missed->second) continue;
      if (static_cast<int>(accuracy_of.size()) >= measurements) break;
      std::optional<double> read_back = known(candidate);
      if (!read_back) {
        read_back = measure(candidate);
        ++selection.trainings;
      }
      accuracy = accuracy_of[visited.measurement] = *read_back;
    }
    selection.measured.push_back(candidate);
    selection.accuracies.push_back(accuracy);
    if (accuracy >= target) {
      if (on_target++ == 0) selection.best = candidate;
    } else {
      const auto [missed, first] = least_missing_objective.emplace(visited.group, visited.objective);
      if (!first) missed->second = std::min(missed->second, visited.objective);
    }
  }
  return selection;
}

}  // namespace qxbar
