#pragma once

#include <string>
#include <vector>

#include "search/algorithm.h"
#include "search/choice_program.h"

namespace qxbar {

// LIMPQ's parameters (Tang et al., ECCV 2022), as recipes (search.limpq.<key>) and flags name them.
struct LimpqOptions {
  double alpha = 2;  // weight of the weight indicators against the activation indicators
  int epochs = 1;    // indicator training over the search's training images
  double lr = 0.01;
  double bitops_budget = 0;  // BitOPs as a fraction of W8A8's; 0: unconstrained
  double size_budget = 0;    // weight bits as a fraction of W8A8's; 0: unconstrained
  int steps = 6;  // without a cost budget: budgets bisected towards the cheapest policy on accuracy target
  std::string indicators_from;  // an earlier run's indicators.json, taken instead of training when it matches
};

const std::vector<Option<LimpqOptions>> & limpq_parameters();

// The integer program behind one LIMPQ answer: a group per searched layer, an option per (weight,
// activation) width pair that the layer's indicators allow, objective S_a(a) + alpha * S_w(w), and as
// resources the chip's cost (the search's metric, additive over layers), BitOPs and weight bits, each
// limited to its budget times W8A8's total less what the pinned layers take.
struct LimpqProgram {
  ChoiceProgram program;
  std::vector<std::size_t> layers;       // the layer of each group
  std::vector<std::vector<Bits>> bits;   // the bits of each option
  Policy fixed;                          // pinned layers at 8/8, the others to be chosen
};

// Per layer and width pair, the metric's cost of that layer alone on the chip (engine pricing), plus
// what LIMPQ's other constraints count; options the chip refuses are left out.
class LimpqCosts {
 public:
  LimpqCosts(const PolicySpace& space, const CostEngine& engine, const std::string& metric, const std::vector<bool>& searched);
  // The program for `cost_budget` (a fraction of W8A8's cost; 0: unconstrained) and the options' limits.
  LimpqProgram program(const std::vector<LayerIndicators>& indicators, const LimpqOptions& options, double cost_budget) const;
  // The least cost ratio any choice reaches: where a bisection of budgets starts.
  double cheapest_ratio() const;
  // A policy's cost over W8A8's, from the per-layer table (pinned layers at 8/8, the others at bits it
  // prices).
  double ratio(const Policy& policy) const;

 private:
  struct PricedBits {
    Bits bits;
    double chip_cost = 0;
    double bitops = 0;
    double weight_bits = 0;
  };
  const PolicySpace& space_;
  std::vector<bool> searched_;
  std::vector<std::vector<PricedBits>> options_;  // per layer; pinned layers hold their one 8/8 option
  double reference_cost_ = 0;
  double reference_bitops_ = 0;
  double reference_weight_bits_ = 0;
};

// One answer of LIMPQ: the optimal policy for a budget, the objective it reaches and its cost over W8A8's.
struct LimpqSolution {
  Policy policy;
  double objective = 0;
  double cost_ratio = 0;
};
// Throws ConfigError when no policy keeps within the budgets.
LimpqSolution solve_limpq(const LimpqCosts& costs, const std::vector<LayerIndicators>& indicators, const LimpqOptions& options,
                          double cost_budget);

// The bit widths of a layer's indicators that LIMPQ keeps: a width whose step is smaller than a wider
// width's claims to lose less than the wider one, which cannot be, so it is left out.
std::vector<int> monotone_widths(const std::map<int, double>& steps);

SearchAlgorithmEntry limpq_algorithm();

}  // namespace qxbar
