#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "search/limpq.h"
#include "sim/cost_engine.h"

namespace qxbar {

// Chip-and-policy co-design: every chip of a grid gets LIMPQ's policy for each cost budget from one set of
// importance indicators (trained once, they do not depend on the chip), and a few of the cheapest choices
// predicted to keep accuracy are fine-tuned to measure it.

// LIMPQ's answer on one chip for one budget.
struct ChipChoice {
  double budget = 0;     // a fraction of W8A8's cost on this chip
  std::string problem;   // why no policy fits the budget on this chip; empty when one does
  Policy policy;
  double objective = 0;  // the indicators' sum the policy reaches: lower predicts less accuracy lost
  NetworkCost cost;      // the whole network under the policy, as the engine prices it
};

// The chip's answer for each of `budgets`, in order. A chip that cannot run the network at any searched
// bits throws ConfigError (the chip is invalid); a budget no policy meets is that choice's problem.
std::vector<ChipChoice> choose_policies_for_chip(const PolicySpace& space, const CostEngine& engine, const std::string& metric,
                                                 const std::vector<LayerIndicators>& indicators, const LimpqOptions& options,
                                                 const std::vector<double>& budgets);

// A (chip, policy) point that may be fine-tuned to measure its accuracy.
struct CodesignCandidate {
  double cost = 0;       // what the co-design minimises (the recipe's metric, absolute)
  double objective = 0;  // the predicted accuracy loss
  // Candidates whose accuracy the objective ranks among themselves: all of them when accuracy depends on
  // the policy alone, those of one chip when the chip's arithmetic shapes it too.
  std::size_t group = 0;
  // Candidates of one measurement share one accuracy (one policy, on one chip where the chip shapes it).
  std::size_t measurement = 0;
};

// Which candidates were measured and what came of it.
struct FinalistSelection {
  std::vector<std::size_t> measured;  // candidates whose accuracy is known, in the order they were visited
  std::vector<double> accuracies;     // of each measured candidate
  std::optional<std::size_t> best;    // the cheapest measured candidate on target
  int trainings = 0;                  // measurements `measure` made (not read back through `known`)
};

// Visits the candidates cheapest first and measures each one's accuracy, until `finalists` of them are on
// target (accuracy >= target) or `measurements` measurements have been made. A candidate whose objective
// is at least that of a candidate of its group that missed the target is predicted to miss as well and
// skipped: the indicators rank policies by accuracy lost. A candidate of a measurement made before takes
// its accuracy for free. `known` gives an accuracy a run measured before it was killed, `measure` trains;
// both count as a measurement, so a resumed selection visits what an uninterrupted one does.
FinalistSelection select_finalists(const std::vector<CodesignCandidate>& candidates, double target, int finalists, int measurements,
                                   const std::function<std::optional<double>(std::size_t)>& known,
                                   const std::function<double(std::size_t)>& measure);

}  // namespace qxbar
