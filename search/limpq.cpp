#include "search/limpq.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <map>
#include <string>
#include <utility>

#include "search/reward.h"
#include "sim/core/errors.h"
#include "sim/cost_engine.h"

namespace qxbar {
namespace {

const Bits kPinnedBits{8, 8};

std::string budget_text(double budget) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", budget);
  return text;
}

// One indicator training, then an integer program per budget: with budgets given, one answer each (a
// front); without, the budget is bisected between the cheapest choice and W8A8 towards the cheapest policy
// whose fine-tuned accuracy stays on target. Under CIM-AQ's reward a policy no costlier than W8A8 is on
// target exactly when its reward is not negative. A bisection step whose solution was evaluated before
// moves on with the known result instead of spending an evaluation on it.
class LimpqSearch : public SearchAlgorithm {
 public:
  LimpqSearch(const LimpqOptions& options, const SearchContext& context)
      : options_(options),
        context_(context),
        searched_(context.space.searched_layers("limpq")),
        costs_(context.space, *context.engine, context.cost_metric, searched_),
        low_(costs_.cheapest_ratio()) {}

  Policy ask() override {
    if (indicators_.empty()) indicators_ = train_indicators();
    if (!bisecting()) return solve(context_.cost_budgets[answered_]).first;
    while (true) {
      asked_budget_ = (low_ + high_) / 2;
      auto [policy, ratio] = solve(asked_budget_);
      asked_ratio_ = ratio;
      const auto known = on_target_.find(policy_summary(policy));
      if (known == on_target_.end() || high_ - low_ < kNarrowest) return policy;
      narrow(known->second);
    }
  }

  void tell(const Evaluation& evaluation) override {
    ++answered_;
    if (!bisecting()) return;
    on_target_[last_policy_] = evaluation.reward >= 0;
    narrow(evaluation.reward >= 0);
  }

  bool finished() const override {
    if (!bisecting()) return answered_ >= context_.cost_budgets.size();
    return answered_ >= static_cast<std::size_t>(options_.steps) || high_ - low_ < kNarrowest;
  }

  bool trains_baselines() const override { return false; }

 private:
  // Budgets closer than this give the same solutions on any network worth searching.
  static constexpr double kNarrowest = 1e-4;

  bool bisecting() const { return context_.cost_budgets.empty(); }

  // A policy on target bounds the cheapest from above by its own cost, which may lie below the budget
  // asked; one below target shows that the budget asked was too tight.
  void narrow(bool on_target) {
    if (on_target) {
      high_ = std::min(asked_ratio_, asked_budget_);
    } else {
      low_ = asked_budget_;
    }
  }

  // The program's solution for `budget` and its cost ratio.
  std::pair<Policy, double> solve(double budget) {
    LimpqSolution solution = solve_limpq(costs_, indicators_, options_, budget);
    last_policy_ = policy_summary(solution.policy);
    return {std::move(solution.policy), solution.cost_ratio};
  }

  std::vector<LayerIndicators> train_indicators() const {
    IndicatorRequest request{context_.space.weight_bit_choices(), context_.space.activation_bit_choices(), searched_,
                             options_.epochs, options_.lr, options_.indicators_from};
    std::vector<LayerIndicators> indicators = context_.indicators->indicators(request);
    if (indicators.size() != searched_.size()) throw std::logic_error("limpq: indicators for another network");
    return indicators;
  }

  LimpqOptions options_;
  SearchContext context_;
  std::vector<bool> searched_;
  LimpqCosts costs_;
  std::vector<LayerIndicators> indicators_;
  std::map<std::string, bool> on_target_;  // evaluated policies: whether they met the accuracy target
  std::string last_policy_;
  std::size_t answered_ = 0;
  double asked_budget_ = 0;
  double asked_ratio_ = 0;
  double low_;
  double high_ = 1;
};

}  // namespace

LimpqSolution solve_limpq(const LimpqCosts& costs, const std::vector<LayerIndicators>& indicators, const LimpqOptions& options,
                          double cost_budget) {
  const LimpqProgram limpq = costs.program(indicators, options, cost_budget);
  const std::vector<std::size_t> chosen = solve_choice_program(limpq.program);
  LimpqSolution solution{limpq.fixed, 0, 0};
  for (std::size_t g = 0; g < chosen.size(); ++g) {
    solution.policy.layers[limpq.layers[g]] = limpq.bits[g][chosen[g]];
    solution.objective += limpq.program.groups[g][chosen[g]].objective;
  }
  solution.cost_ratio = costs.ratio(solution.policy);
  return solution;
}

std::vector<int> monotone_widths(const std::map<int, double>& steps) {
  std::vector<int> kept;
  double widest_so_far = -std::numeric_limits<double>::infinity();
  for (auto it = steps.rbegin(); it != steps.rend(); ++it) {
    if (it->second >= widest_so_far) kept.push_back(it->first);
    widest_so_far = std::max(widest_so_far, it->second);
  }
  std::reverse(kept.begin(), kept.end());
  return kept;
}

LimpqCosts::LimpqCosts(const PolicySpace& space, const CostEngine& engine, const std::string& metric_name,
                       const std::vector<bool>& searched)
    : space_(space), searched_(searched) {
  const CostMetric& metric = cost_metrics().at(metric_name, "reward");
  if (metric_name == "edp") throw ConfigError("limpq: the reward edp is not a sum over layers; choose latency or energy");
  const Workload& workload = space.workload();
  for (std::size_t l = 0; l < workload.layers.size(); ++l) {
    const LayerShape& layer = workload.layers[l];
    const Workload alone{workload.name, {layer}};
    const double macs = static_cast<double>(layer.input_dim) * static_cast<double>(layer.output_dim) *
                        static_cast<double>(layer.mvm_invocations) * static_cast<double>(layer.repeat_factor);
    const double weights = static_cast<double>(layer.input_dim) * static_cast<double>(layer.output_dim) *
                           static_cast<double>(layer.repeat_factor);
    const auto option = [&](Bits bits) {
      return PricedBits{bits, metric.of(price_network(engine, alone, Policy{{bits}})), macs * bits.w * bits.a, weights * bits.w};
    };
    const PricedBits reference = option(kPinnedBits);
    reference_cost_ += reference.chip_cost;
    reference_bitops_ += reference.bitops;
    reference_weight_bits_ += reference.weight_bits;
    std::vector<PricedBits> options;
    if (!searched[l]) {
      options.push_back(reference);
    } else {
      for (int w : space.weight_bit_choices()) {
        for (int a : space.activation_bit_choices()) {
          try {
            options.push_back(option(Bits(w, a)));
          } catch (const UserError&) {
            // The chip cannot run the layer at these bits: the option does not exist.
          }
        }
      }
      if (options.empty()) throw ConfigError("limpq: the chip runs layer " + layer.name + " at none of the searched bits");
    }
    options_.push_back(std::move(options));
  }
}

double LimpqCosts::ratio(const Policy& policy) const {
  double cost = 0;
  for (std::size_t l = 0; l < options_.size(); ++l) {
    for (const PricedBits& option : options_[l]) {
      if (option.bits == policy.layers[l]) cost += option.chip_cost;
    }
  }
  return cost / reference_cost_;
}

double LimpqCosts::cheapest_ratio() const {
  double cheapest = 0;
  for (const std::vector<PricedBits>& options : options_) {
    cheapest += std::min_element(options.begin(), options.end(), [](const PricedBits& x, const PricedBits& y) {
                  return x.chip_cost < y.chip_cost;
                })->chip_cost;
  }
  return cheapest / reference_cost_;
}

LimpqProgram LimpqCosts::program(const std::vector<LayerIndicators>& indicators, const LimpqOptions& options,
                                 double cost_budget) const {
  struct Resource {
    std::string name;
    double budget;
    double reference;
    double PricedBits::*cost;
  };
  std::vector<Resource> resources;
  if (cost_budget > 0) resources.push_back({"--cost-budget " + budget_text(cost_budget), cost_budget, reference_cost_, &PricedBits::chip_cost});
  if (options.bitops_budget > 0) {
    resources.push_back({"--bitops-budget " + budget_text(options.bitops_budget), options.bitops_budget, reference_bitops_, &PricedBits::bitops});
  }
  if (options.size_budget > 0) {
    resources.push_back({"--size-budget " + budget_text(options.size_budget), options.size_budget, reference_weight_bits_, &PricedBits::weight_bits});
  }

  LimpqProgram limpq;
  limpq.fixed = space_.reference();
  for (const Resource& resource : resources) {
    double limit = resource.budget * resource.reference;
    for (std::size_t l = 0; l < options_.size(); ++l) {
      if (!searched_[l]) limit -= options_[l].front().*resource.cost;
    }
    if (limit <= 0) throw ConfigError(resource.name + ": the layers kept at 8/8 alone take the whole budget");
    limpq.program.limits.push_back(limit);
    limpq.program.resources.push_back(resource.name);
  }
  for (std::size_t l = 0; l < options_.size(); ++l) {
    if (!searched_[l]) continue;
    const LayerIndicators& layer = indicators[l];
    const std::vector<int> weight_widths = monotone_widths(layer.weights);
    const std::vector<int> activation_widths = monotone_widths(layer.activations);
    const auto allowed = [](const std::vector<int>& widths, int bits) {
      return std::find(widths.begin(), widths.end(), bits) != widths.end();
    };
    std::vector<ChoiceProgram::Choice> group;
    std::vector<Bits> bits;
    for (const PricedBits& option : options_[l]) {
      if (!allowed(weight_widths, option.bits.w) || !allowed(activation_widths, option.bits.a)) continue;
      ChoiceProgram::Choice choice{layer.activations.at(option.bits.a) + options.alpha * layer.weights.at(option.bits.w), {}};
      for (const Resource& resource : resources) choice.costs.push_back(option.*resource.cost);
      group.push_back(std::move(choice));
      bits.push_back(option.bits);
    }
    if (group.empty()) throw ConfigError("limpq: layer " + space_.workload().layers[l].name + " has no width its indicators allow");
    limpq.program.groups.push_back(std::move(group));
    limpq.bits.push_back(std::move(bits));
    limpq.layers.push_back(l);
  }
  return limpq;
}

const std::vector<Option<LimpqOptions>>& limpq_parameters() {
  using O = LimpqOptions;
  constexpr double kNoMaximum = std::numeric_limits<double>::infinity();
  static const std::vector<Option<LimpqOptions>> parameters = {
      {"alpha", "limpq-alpha", "LIMPQ: weight of the weight indicators against the activation indicators", &O::alpha, {0}},
      {"epochs", "limpq-epochs", "LIMPQ: epochs of indicator training over the search's training images", &O::epochs, {1}},
      {"lr", "limpq-lr", "LIMPQ: indicator training learning rate (SGD, cosine)", &O::lr, {0, kNoMaximum, true}},
      {"bitops_budget", "bitops-budget", "LIMPQ: BitOPs as a fraction of W8A8's (0: unconstrained)", &O::bitops_budget, {0}},
      {"size_budget", "size-budget", "LIMPQ: weight bits as a fraction of W8A8's (0: unconstrained)", &O::size_budget, {0}},
      {"steps", "limpq-steps",
       "LIMPQ without --cost-budget: policies tried while bisecting the budget towards the cheapest on target", &O::steps, {1}},
      {"indicators_from", "indicators-from",
       "LIMPQ: an earlier run's indicators.json to take instead of training (it must match network, data and bits)",
       &O::indicators_from, {}, nullptr, false},
  };
  return parameters;
}

SearchAlgorithmEntry limpq_algorithm() {
  SearchAlgorithmEntry entry{
      "limpq",
      "LIMPQ: importance indicators trained once, then an integer program (GLPK) per cost budget over the chip's "
      "per-layer costs",
      [] { return std::make_unique<ParametersOf<LimpqOptions>>(limpq_parameters()); },
      [](const AlgorithmParameters& parameters, const SearchContext& context) -> std::unique_ptr<SearchAlgorithm> {
        if (context.engine == nullptr || context.indicators == nullptr) throw std::logic_error("limpq needs the chip and the network");
        return std::make_unique<LimpqSearch>(dynamic_cast<const ParametersOf<LimpqOptions>&>(parameters).values, context);
      }};
  entry.several_budgets = true;
  return entry;
}

}  // namespace qxbar
