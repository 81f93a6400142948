#include "search/codesign.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "sim/analytical_engine.h"
#include "sim/chip_spec.h"

namespace qxbar {
namespace {

PolicySpace chain() {
  SpaceOptions options;
  options.min_bits = 2;
  options.max_bits = 6;
  return {{"chain",
           {{"conv1", LayerKind::Conv, 1 * 9, 8, 784, 1},
            {"conv2", LayerKind::Conv, 8 * 9, 16, 196, 1},
            {"fc", LayerKind::Dense, 3136, 10, 1, 1}}},
          {},
          options};
}

// Steps that fall with the bits, faster for the layers further in.
std::vector<LayerIndicators> falling_indicators(const PolicySpace& space) {
  std::vector<LayerIndicators> indicators(space.workload().layers.size());
  for (std::size_t l = 0; l < indicators.size(); ++l) {
    for (int b : space.weight_bit_choices()) indicators[l].weights[b] = (1.0 + l) / std::ldexp(1.0, b);
    for (int b : space.activation_bit_choices()) indicators[l].activations[b] = 2.0 / std::ldexp(1.0 + 0.2 * l, b);
  }
  return indicators;
}

TEST(Codesign, EveryChipsChoiceKeepsWithinItsBudgetAndTighterBudgetsLoseMore) {
  const PolicySpace space = chain();
  const std::vector<double> budgets = {0.35, 0.5, 0.7, 1.0};
  for (const int cell_bits : {1, 2, 4}) {
    SCOPED_TRACE(cell_bits);
    const ChipSpec chip = load_chip("cimaq_default", {"crossbar.cell_bits=" + std::to_string(cell_bits)});
    const AnalyticalEngine engine(chip);
    const std::vector<ChipChoice> choices =
        choose_policies_for_chip(space, engine, "latency", falling_indicators(space), LimpqOptions{}, budgets);
    ASSERT_EQ(choices.size(), budgets.size());
    const double w8a8 = price_network(engine, space.workload(), space.reference()).latency_ns;
    for (std::size_t b = 0; b < budgets.size(); ++b) {
      SCOPED_TRACE(budgets[b]);
      ASSERT_EQ(choices[b].problem, "");
      EXPECT_EQ(choices[b].budget, budgets[b]);
      // The whole network priced at once keeps to the budget the per-layer table promised.
      EXPECT_LE(choices[b].cost.latency_ns, budgets[b] * w8a8 * (1 + 1e-9));
      if (b > 0) EXPECT_LE(choices[b].objective, choices[b - 1].objective);
    }
    // W8A8's own cost allows the least objective of all: the widest widths everywhere.
    for (const Bits& bits : choices.back().policy.layers) EXPECT_EQ(bits, Bits(6, 6));
  }
}

TEST(Codesign, ABudgetNoPolicyMeetsIsThatChoicesProblemNotTheChips) {
  const PolicySpace space = chain();
  const AnalyticalEngine engine(load_chip("cimaq_default", {}));
  const std::vector<ChipChoice> choices =
      choose_policies_for_chip(space, engine, "energy", falling_indicators(space), LimpqOptions{}, {0.001, 0.9});
  EXPECT_THAT(choices[0].problem, ::testing::HasSubstr("--cost-budget 0.001"));
  EXPECT_EQ(choices[1].problem, "");
  EXPECT_THROW(choose_policies_for_chip(space, engine, "edp", falling_indicators(space), LimpqOptions{}, {0.5}), ConfigError);
}

// Candidates as (cost, objective) with the accuracy a fine-tune would give each.
struct Finalists {
  std::vector<CodesignCandidate> candidates;
  std::vector<double> accuracy;
  std::map<std::size_t, double> known;
  std::vector<std::size_t> trained;

  FinalistSelection select(double target, int finalists, int trainings) {
    return select_finalists(
        candidates, target, finalists, trainings,
        [&](std::size_t c) -> std::optional<double> {
          const auto found = known.find(c);
          return found == known.end() ? std::nullopt : std::optional<double>(found->second);
        },
        [&](std::size_t c) {
          trained.push_back(c);
          return accuracy[c];
        });
  }
};

TEST(Codesign, FinalistsAreVisitedCheapestFirstAndWhatIsPredictedToMissIsSkipped) {
  Finalists f;
  // Cost falls as the objective (predicted loss) rises; accuracy falls with the objective.
  f.candidates = {{5, 0.1, 0, 0}, {1, 0.9, 0, 1}, {4, 0.2, 0, 2}, {2, 0.6, 0, 3}, {3, 0.4, 0, 4}, {2.5, 0.7, 0, 5}};
  f.accuracy = {0.90, 0.70, 0.89, 0.80, 0.86, 0.79};
  const FinalistSelection selection = f.select(0.85, 2, 10);
  // Cheapest (1: 0.70) misses; 3 (cost 2, objective 0.6) misses; 5 (objective 0.7 >= 0.6) is skipped
  // untrained; 4 and 2 are on target.
  EXPECT_EQ(f.trained, (std::vector<std::size_t>{1, 3, 4, 2}));
  EXPECT_EQ(selection.measured, f.trained);
  EXPECT_EQ(selection.accuracies, (std::vector<double>{0.70, 0.80, 0.86, 0.89}));
  ASSERT_TRUE(selection.best.has_value());
  EXPECT_EQ(*selection.best, 4u);
  EXPECT_EQ(selection.trainings, 4);
}

TEST(Codesign, AResumedSelectionVisitsWhatAnUninterruptedOneDoesAndTrainsOnlyWhatWasLost) {
  Finalists f;
  f.candidates = {{1, 0.9, 0, 0}, {2, 0.8, 0, 1}, {3, 0.5, 0, 2}, {4, 0.1, 0, 3}};
  f.accuracy = {0.5, 0.6, 0.7, 0.9};
  const FinalistSelection whole = f.select(0.85, 1, 3);
  // Three misses spend the three measurements; candidate 3 is never reached.
  EXPECT_EQ(f.trained, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_FALSE(whole.best.has_value());
  // Killed after two measurements: those are read back, count as made, and the run ends where it did.
  f.trained.clear();
  f.known = {{0, 0.5}, {1, 0.6}};
  const FinalistSelection resumed = f.select(0.85, 1, 3);
  EXPECT_EQ(f.trained, (std::vector<std::size_t>{2}));
  EXPECT_EQ(resumed.measured, whole.measured);
  EXPECT_EQ(resumed.accuracies, whole.accuracies);
  EXPECT_EQ(resumed.trainings, 1);
}

TEST(Codesign, CandidatesOfOneMeasurementShareItsAccuracyAndItsCost) {
  Finalists f;
  // Candidates 0 and 1 hold one policy on chips of the same arithmetic: one fine-tune measures both.
  f.candidates = {{1, 0.5, 0, 7}, {2, 0.5, 0, 7}, {3, 0.2, 0, 8}};
  f.accuracy = {0.9, 0.1, 0.95};
  const FinalistSelection selection = f.select(0.85, 3, 2);
  EXPECT_EQ(f.trained, (std::vector<std::size_t>{0, 2}));
  EXPECT_EQ(selection.measured, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(selection.accuracies, (std::vector<double>{0.9, 0.9, 0.95}));
  EXPECT_EQ(selection.best, std::optional<std::size_t>(0));
}

TEST(Codesign, AMissPredictsMissesOnlyWithinItsGroup) {
  Finalists f;
  // Two chips: chip 1's arithmetic loses accuracy whatever the policy, chip 0's does not.
  f.candidates = {{1, 0.5, 1, 0}, {2, 0.6, 0, 1}, {3, 0.4, 1, 2}};
  f.accuracy = {0.5, 0.9, 0.6};
  const FinalistSelection selection = f.select(0.85, 1, 5);
  // Chip 1's miss at objective 0.5 says nothing of chip 0's candidate at 0.6.
  EXPECT_EQ(f.trained, (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(selection.best, std::optional<std::size_t>(1));
}

}  // namespace
}  // namespace qxbar
