#include "search/limpq.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>

#include "search/reward.h"
#include "search/search_run.h"
#include "sim/analytical_engine.h"
#include "sim/chip_spec.h"
#include "sim/core/errors.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using testing::TempDir;

PolicySpace chain(SpaceOptions options) {
  return {{"chain",
           {{"conv1", LayerKind::Conv, 1 * 9, 8, 784, 1},
            {"conv2", LayerKind::Conv, 8 * 9, 16, 196, 1},
            {"fc", LayerKind::Dense, 3136, 10, 1, 1}}},
          {},
          options};
}

SpaceOptions bits_2_to_5() {
  SpaceOptions options;
  options.min_bits = 2;
  options.max_bits = 5;
  return options;
}

// Indicators that fall with the bits, at a different pace per layer, as trained steps do.
std::vector<LayerIndicators> falling_indicators(const PolicySpace& space) {
  std::vector<LayerIndicators> indicators(space.workload().layers.size());
  for (std::size_t l = 0; l < indicators.size(); ++l) {
    for (int b : space.weight_bit_choices()) indicators[l].weights[b] = (1.0 + l) / std::ldexp(1.0, b);
    for (int b : space.activation_bit_choices()) indicators[l].activations[b] = (3.0 - l) / std::ldexp(1.5, b);
  }
  return indicators;
}

class FixedIndicators : public IndicatorSource {
 public:
  explicit FixedIndicators(std::vector<LayerIndicators> indicators) : indicators_(std::move(indicators)) {}
  std::vector<LayerIndicators> indicators(const IndicatorRequest& request) override {
    ++trainings;
    last_request = request;
    return indicators_;
  }
  int trainings = 0;
  IndicatorRequest last_request;

 private:
  std::vector<LayerIndicators> indicators_;
};

const ChipSpec& chip() {
  static const ChipSpec spec = load_chip("cimaq_default", {});
  return spec;
}

// A chain searched by LIMPQ with falling indicators, on the analytical engine.
struct LimpqSetup {
  explicit LimpqSetup(SpaceOptions space_options = bits_2_to_5())
      : space(chain(space_options)), engine(chip()), source(falling_indicators(space)) {
    options.name = "limpq";
  }
  PolicySpace space;
  AnalyticalEngine engine;
  FixedIndicators source;
  AlgorithmOptions options;
};

double objective(const std::vector<LayerIndicators>& indicators, const Policy& policy, double alpha) {
  double sum = 0;
  for (std::size_t l = 0; l < policy.layers.size(); ++l) {
    sum += indicators[l].activations.at(policy.layers[l].a) + alpha * indicators[l].weights.at(policy.layers[l].w);
  }
  return sum;
}

TEST(Limpq, KeepsOnlyWidthsWhoseStepIsNoSmallerThanAnyWiderOnes) {
  EXPECT_EQ(monotone_widths({{2, 0.5}, {3, 0.2}, {4, 0.3}, {5, 0.1}}), (std::vector<int>{2, 4, 5}));
  EXPECT_EQ(monotone_widths({{2, 0.4}, {3, 0.3}, {4, 0.2}}), (std::vector<int>{2, 3, 4}));
}

// Every policy of the space priced as a whole network: the program's additive costs and its solver
// must agree with the least objective among policies within the budget.
TEST(Limpq, SolutionIsTheBruteForceOptimumAndWithinBudget) {
  const PolicySpace space = chain(bits_2_to_5());
  const AnalyticalEngine engine(chip());
  const std::vector<LayerIndicators> indicators = falling_indicators(space);
  const double reference = price_network(engine, space.workload(), space.reference()).latency_ns;
  const std::vector<int> widths = space.activation_bit_choices();
  std::vector<Policy> all;
  for (int w0 : widths) for (int a0 : widths) for (int w1 : widths) for (int a1 : widths) for (int w2 : widths) for (int a2 : widths) {
    all.push_back(Policy{{Bits(w0, a0), Bits(w1, a1), Bits(w2, a2)}});
  }
  double cheapest = 1;
  for (const Policy& policy : all) cheapest = std::min(cheapest, price_network(engine, space.workload(), policy).latency_ns / reference);
  AlgorithmOptions options;
  options.name = "limpq";
  for (double budget : {cheapest * 1.05, cheapest + 0.2 * (1 - cheapest), cheapest + 0.5 * (1 - cheapest), 0.9}) {
    double best = std::numeric_limits<double>::infinity();
    for (const Policy& policy : all) {
      if (price_network(engine, space.workload(), policy).latency_ns <= budget * reference) {
        best = std::min(best, objective(indicators, policy, 2));
      }
    }
    ASSERT_TRUE(std::isfinite(best)) << budget;
    FixedIndicators source(indicators);
    SearchContext context{space, 0, &engine, nullptr, &source, "latency", {budget}};
    const Policy chosen = make_search_algorithm(options, context)->ask();
    EXPECT_LE(price_network(engine, space.workload(), chosen).latency_ns, budget * reference) << budget;
    EXPECT_NEAR(objective(indicators, chosen, 2), best, 1e-12) << budget;
  }
}

TEST(Limpq, OneIndicatorTrainingAnswersEveryBudgetOfAFront) {
  const TempDir dir;
  LimpqSetup setup;
  auto& [space, engine, source, options] = setup;
  const std::unique_ptr<SearchAlgorithm> algorithm =
      make_search_algorithm(options, {space, 0, &engine, nullptr, &source, "energy", {0.4, 0.6, 0.8}});
  SearchSettings settings;
  settings.episodes = 20;
  settings.reward = "energy";
  settings.cost_budget.values = {0.4, 0.6, 0.8};
  settings.out_dir = dir.file("run");
  settings.show_progress = false;
  settings.run_key = "limpq";
  class Constant : public AccuracyEvaluator {
    double accuracy(const Policy&) override { return 0.9; }
  } evaluator;
  const SearchResult result = run_search(*algorithm, space, engine, evaluator, settings);
  EXPECT_EQ(source.trainings, 1);
  EXPECT_EQ(source.last_request.weight_bits, (std::vector<int>{2, 3, 4, 5}));
  std::vector<double> ratios;
  for (const EvaluatedPolicy& row : result.history) {
    if (row.kind == EvaluatedPolicy::Kind::Search) ratios.push_back(row.evaluation.cost_ratio);
    // A solver needs the reference's accuracy alone: the other baselines are priced, not trained.
    if (row.kind == EvaluatedPolicy::Kind::Baseline) {
      if (row.label != "W8A8") {
        EXPECT_EQ(row.evaluation.status, EvaluationStatus::Priced) << row.label;
      }
      EXPECT_EQ(row.evaluation.accuracy >= 0, row.label == "W8A8") << row.label;
    }
  }
  EXPECT_EQ(result.trainings, 1 + 3);
  ASSERT_EQ(ratios.size(), 3u);
  EXPECT_LE(ratios[0], 0.4);
  EXPECT_LE(ratios[1], 0.6);
  EXPECT_LE(ratios[2], 0.8);
  EXPECT_LT(ratios[0], ratios[2]);  // a looser budget buys more bits
}

TEST(Limpq, WithoutABudgetBisectsTowardsTheCheapestPolicyOnTarget) {
  LimpqSetup setup;
  auto& [space, engine, source, options] = setup;
  const std::unique_ptr<SearchAlgorithm> algorithm = make_search_algorithm(options, {space, 0, &engine, nullptr, &source});
  const double reference = price_network(engine, space.workload(), space.reference()).latency_ns;
  const auto ratio = [&](const Policy& policy) { return price_network(engine, space.workload(), policy).latency_ns / reference; };
  // On target while the policy costs at least 0.5 of W8A8: the asked policies close in on 0.5 from both sides.
  int asked = 0;
  double last = 0;
  std::set<std::string> proposed;
  bool repeated = false;
  while (!algorithm->finished()) {
    // A policy evaluated before is proposed again only once the budgets have closed in, as the last.
    EXPECT_FALSE(repeated) << "a repeated proposal was not the last";
    const Policy policy = algorithm->ask();
    repeated = !proposed.insert(policy_summary(policy)).second;
    last = ratio(policy);
    Evaluation evaluation;
    evaluation.cost_ratio = last;
    evaluation.reward = last >= 0.5 ? 1 : -1;
    algorithm->tell(evaluation);
    ++asked;
  }
  EXPECT_LE(asked, LimpqOptions{}.steps);
  EXPECT_GE(asked, 4);
  EXPECT_NEAR(last, 0.5, 0.1);
}

TEST(Limpq, RefusesWhatItCannotSolve) {
  LimpqSetup setup;
  auto& [space, engine, source, options] = setup;
  EXPECT_THAT([&] { make_search_algorithm(options, {space, 0, &engine, nullptr, &source, "edp"}); },
              ::testing::ThrowsMessage<ConfigError>(::testing::HasSubstr("edp is not a sum over layers")));
  EXPECT_THAT([&] { make_search_algorithm(options, {space, 0, &engine, nullptr, &source, "latency", {0.01}})->ask(); },
              ::testing::ThrowsMessage<ConfigError>(::testing::HasSubstr("--cost-budget 0.01: no choice fits")));
  options.name = "ddpg";
  EXPECT_THAT([&] { make_search_algorithm(options, {space, 0, &engine, nullptr, &source, "latency", {0.4, 0.5}}); },
              ::testing::ThrowsMessage<ConfigError>(::testing::HasSubstr("several give a front with limpq")));
}

TEST(Limpq, PinnedLayersStayAtEightBitsAndAreNotTrained) {
  SpaceOptions pinned = bits_2_to_5();
  pinned.force_first_last = true;
  LimpqSetup setup(pinned);
  auto& [space, engine, source, options] = setup;
  const Policy policy = make_search_algorithm(options, {space, 0, &engine, nullptr, &source, "latency", {0.9}})->ask();
  EXPECT_EQ(source.last_request.searched, (std::vector<bool>{false, true, false}));
  EXPECT_EQ(policy.layers.front(), Bits(8, 8));
  EXPECT_EQ(policy.layers.back(), Bits(8, 8));
}

}  // namespace
}  // namespace qxbar
