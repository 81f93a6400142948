#include "search/search_run.h"

#include <gtest/gtest.h>

#include <set>

#include "search/ddpg.h"
#include "search/search_store.h"
#include "sim/analytical_engine.h"
#include "sim/chip_spec.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using testing::read_text;
using testing::TempDir;

Workload small_network() {
  return {"small",
          {{"conv1", LayerKind::Conv, 9, 16, 784, 1},
           {"conv2", LayerKind::Conv, 144, 32, 196, 1},
           {"fc", LayerKind::Dense, 1568, 10, 1, 1}}};
}

// Accuracy falls with every bit taken away, activations of the first layer hurting most; it can also
// pretend to die after a number of trainings, like a killed process.
class FakeEvaluator : public AccuracyEvaluator {
 public:
  explicit FakeEvaluator(int die_after = -1) : die_after_(die_after) {}
  double accuracy(const Policy& policy) override {
    if (trainings == die_after_) throw std::runtime_error("killed");
    ++trainings;
    double accuracy = 0.92;
    for (std::size_t i = 0; i < policy.layers.size(); ++i) {
      accuracy -= 0.001 * (8 - policy.layers[i].w) + (i == 0 ? 0.006 : 0.0015) * (8 - policy.layers[i].a);
    }
    return accuracy;
  }
  int trainings = 0;

 private:
  int die_after_;
};

struct Fixture {
  explicit Fixture(SpaceOptions options = {}) : space(small_network(), {}, options) {}
  ChipSpec chip = load_chip("cimaq_default", {});
  std::unique_ptr<CostEngine> engine = std::make_unique<AnalyticalEngine>(chip);
  PolicySpace space;

  SearchResult run(const std::string& dir, AccuracyEvaluator& evaluator, int episodes, bool resume = false,
                   double budget = 0, const std::string& algo = "ddpg") {
    AlgorithmOptions algorithm_options;
    algorithm_options.name = algo;
    algorithm_options.seed = 11;
    DdpgOptions& ddpg = dynamic_cast<ParametersOf<DdpgOptions>&>(algorithm_options.parameters("ddpg")).values;
    ddpg.warmup = 4;
    ddpg.hidden = 32;
    ddpg.batch_size = 16;
    const std::unique_ptr<SearchAlgorithm> algorithm = make_search_algorithm(algorithm_options, {space, 11});
    SearchSettings settings;
    settings.episodes = episodes;
    settings.out_dir = dir;
    settings.resume = resume;
    if (budget > 0) settings.cost_budget.values = {budget};
    settings.show_progress = false;
    settings.run_key = "test-run";
    return run_search(*algorithm, space, *engine, evaluator, settings);
  }
};

TEST(SearchRun, BaselinesThenEpisodesWithCimaqRewards) {
  const TempDir dir;
  Fixture fixture;
  FakeEvaluator evaluator;
  const SearchResult result = fixture.run(dir.file("run"), evaluator, 10);
  // Seven uniform baselines and five more with weights rounded up to the chip's 4-bit cells.
  ASSERT_EQ(result.history.size(), 12u + 10u);
  const EvaluatedPolicy& reference = result.history[result.reference];
  EXPECT_EQ(reference.label, "W8A8");
  EXPECT_DOUBLE_EQ(reference.evaluation.cost_ratio, 1.0);
  EXPECT_NEAR(reference.evaluation.reward, 0.1 * 1.0, 1e-9);  // exactly on target plus the 1-point margin
  for (const EvaluatedPolicy& row : result.history) {
    const Evaluation& e = row.evaluation;
    const NetworkCost cost = price_network(*fixture.engine, fixture.space.workload(), row.policy);
    EXPECT_DOUBLE_EQ(e.latency_ns, cost.latency_ns);
    EXPECT_DOUBLE_EQ(e.cost_ratio, cost.latency_ns / reference.evaluation.latency_ns);
    EXPECT_DOUBLE_EQ(e.reward, cimaq_reward(100 * e.accuracy, 100 * reference.evaluation.accuracy, 1.0, e.cost_ratio));
  }
  for (std::size_t i = 12; i < result.history.size(); ++i) {
    EXPECT_LE(result.history[i].evaluation.reward, result.history[result.best].evaluation.reward);
  }
  EXPECT_EQ(policy_summary(load_policy(dir.file("run/best_policy.yaml"), fixture.space.workload())),
            policy_summary(result.history[result.best].policy));
  EXPECT_EQ(policy_summary(load_policy(dir.file("run/best_policy.npy"), fixture.space.workload())),
            policy_summary(result.history[result.best].policy));
  const std::string csv = read_text(dir.file("run/history.csv"));
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 22);
  EXPECT_NE(csv.find("\n,baseline,W8A5,ok,"), std::string::npos);
  EXPECT_NE(csv.find("\n,baseline,W4A4,ok,"), std::string::npos);
  EXPECT_NE(csv.find("\n10,search,,ok,"), std::string::npos);
}

TEST(SearchRun, EveryPricedPolicyKeepsItsLayerCostsInTheStore) {
  const TempDir dir;
  Fixture fixture;
  FakeEvaluator evaluator;
  fixture.run(dir.file("run"), evaluator, 3);
  const std::vector<EvaluatedPolicy> stored = SearchStore(dir.file("run/search.sqlite")).load();
  ASSERT_EQ(stored.size(), 12u + 3u);
  for (const EvaluatedPolicy& row : stored) {
    const NetworkCost cost = price_network(*fixture.engine, fixture.space.workload(), row.policy);
    ASSERT_EQ(row.layer_costs.size(), cost.layers.size()) << policy_summary(row.policy);
    for (std::size_t i = 0; i < cost.layers.size(); ++i) {
      EXPECT_EQ(row.layer_costs[i].latency_ns, cost.layers[i].latency_ns);
      EXPECT_EQ(row.layer_costs[i].write_ns, cost.layers[i].write_ns);
      for (const Component component : kComponents) {
        EXPECT_EQ(row.layer_costs[i].energy_pj[component], cost.layers[i].energy_pj[component]) << to_string(component);
      }
    }
  }
}

TEST(SearchRun, RepeatedPoliciesAreTrainedOnce) {
  const TempDir dir;
  Fixture fixture({2, 3, 0, false});
  FakeEvaluator evaluator;
  const SearchResult result = fixture.run(dir.file("run"), evaluator, 30, false, 0, "random");
  // 2^6 policies exist; 30 random draws repeat some, and W2A2 and W3A3 come from the baselines.
  std::set<std::string> distinct;
  for (const EvaluatedPolicy& row : result.history) distinct.insert(policy_summary(row.policy));
  EXPECT_EQ(evaluator.trainings, static_cast<int>(distinct.size()));
  EXPECT_EQ(result.trainings, evaluator.trainings);
  EXPECT_LT(evaluator.trainings, static_cast<int>(result.history.size()));
}

// Diverges whenever the first layer gets 2-bit activations, as fine-tuning at too high a rate would.
class DivergingEvaluator : public FakeEvaluator {
 public:
  double accuracy(const Policy& policy) override {
    if (policy.layers.front().a == 2) {
      ++diverged;
      throw DivergedError("training diverged");
    }
    return FakeEvaluator::accuracy(policy);
  }
  int diverged = 0;
};

TEST(SearchRun, DivergedCandidatesAreStoredWithTheirStatusAndNotTrainedAgain) {
  const TempDir dir;
  Fixture fixture({2, 3, 0, false});
  DivergingEvaluator evaluator;
  const SearchResult result = fixture.run(dir.file("run"), evaluator, 30, false, 0, "random");
  std::set<std::string> diverged;
  for (const EvaluatedPolicy& row : result.history) {
    const bool expected = row.policy.layers.front().a == 2;
    EXPECT_EQ(row.evaluation.status == EvaluationStatus::Diverged, expected) << policy_summary(row.policy);
    if (!expected) continue;
    diverged.insert(policy_summary(row.policy));
    EXPECT_EQ(row.evaluation.accuracy, -1);
    // Rewarded as a policy that kept no accuracy: below every trained one.
    for (const EvaluatedPolicy& other : result.history) {
      if (other.evaluation.status == EvaluationStatus::Ok) {
        EXPECT_LT(row.evaluation.reward, other.evaluation.reward);
      }
    }
  }
  ASSERT_FALSE(diverged.empty());
  EXPECT_EQ(evaluator.diverged, static_cast<int>(diverged.size()));
  EXPECT_NE(read_text(dir.file("run/history.csv")).find(",diverged,"), std::string::npos);

  // Read back on resume with the status it had.
  DivergingEvaluator again;
  const SearchResult resumed = fixture.run(dir.file("run"), again, 30, true, 0, "random");
  EXPECT_EQ(again.diverged, 0);
  EXPECT_EQ(read_text(dir.file("run/history.csv")), history_csv(result.history));
  EXPECT_EQ(resumed.history.size(), result.history.size());
}

TEST(SearchRun, SameSeedSameHistory) {
  const TempDir dir;
  Fixture fixture;
  FakeEvaluator first;
  FakeEvaluator second;
  fixture.run(dir.file("a"), first, 12);
  fixture.run(dir.file("b"), second, 12);
  EXPECT_EQ(read_text(dir.file("a/history.csv")), read_text(dir.file("b/history.csv")));
}

TEST(SearchRun, KilledRunResumesToTheUninterruptedResult) {
  const TempDir dir;
  Fixture fixture;
  FakeEvaluator whole;
  const SearchResult uninterrupted = fixture.run(dir.file("whole"), whole, 12);
  for (const int killed_after : {3, 12}) {
    const std::string run = dir.file("killed" + std::to_string(killed_after));
    FakeEvaluator dying(killed_after);
    EXPECT_THROW(fixture.run(run, dying, 12), std::runtime_error);
    FakeEvaluator rest;
    const SearchResult resumed = fixture.run(run, rest, 12, true);
    EXPECT_GT(resumed.resumed_rows, 0u);
    EXPECT_EQ(dying.trainings + rest.trainings, whole.trainings);
    EXPECT_EQ(resumed.trainings, uninterrupted.trainings);
    EXPECT_EQ(read_text(run + "/history.csv"), read_text(dir.file("whole/history.csv")));
    EXPECT_EQ(read_text(run + "/best_policy.yaml"), read_text(dir.file("whole/best_policy.yaml")));
  }
}

TEST(SearchRun, ResumingExtendsAFinishedRun) {
  const TempDir dir;
  Fixture fixture;
  FakeEvaluator whole;
  fixture.run(dir.file("whole"), whole, 12);
  FakeEvaluator first;
  FakeEvaluator more;
  fixture.run(dir.file("run"), first, 6);
  fixture.run(dir.file("run"), more, 12, true);
  EXPECT_EQ(read_text(dir.file("run/history.csv")), read_text(dir.file("whole/history.csv")));
}

TEST(SearchRun, ExistingRunNeedsResumeAndTheSameSettings) {
  const TempDir dir;
  Fixture fixture;
  FakeEvaluator evaluator;
  fixture.run(dir.file("run"), evaluator, 2);
  EXPECT_NE(testing::error_message<ConfigError>([&] { fixture.run(dir.file("run"), evaluator, 2); }).find("--resume"),
            std::string::npos);
  Fixture other({3, 8, 0, false});
  EXPECT_THROW(other.run(dir.file("run"), evaluator, 2, true), ConfigError);
}

TEST(SearchRun, ARunThatDiedBeforeItsFirstEvaluationStartsAfresh) {
  const TempDir dir;
  Fixture fixture;
  FakeEvaluator dead_at_once(0);
  EXPECT_THROW(fixture.run(dir.file("run"), dead_at_once, 4), std::runtime_error);
  Fixture other({3, 8, 0, false});
  FakeEvaluator evaluator;
  EXPECT_EQ(other.run(dir.file("run"), evaluator, 4).history.size(), 10u + 4u);
}

TEST(SearchRun, OverBudgetProposalsArePricedNotTrained) {
  const TempDir dir;
  Fixture fixture;
  FakeEvaluator evaluator;
  const SearchResult result = fixture.run(dir.file("run"), evaluator, 20, false, 0.5);
  int over = 0;
  const double reference = 100 * result.history[result.reference].evaluation.accuracy;
  for (const EvaluatedPolicy& row : result.history) {
    const Evaluation& e = row.evaluation;
    if (e.cost_ratio > 0.5) {
      EXPECT_EQ(e.status, EvaluationStatus::OverBudget);
      EXPECT_DOUBLE_EQ(e.reward, budget_penalty(e.cost_ratio, 0.5));
      if (row.kind == EvaluatedPolicy::Kind::Search) {
        EXPECT_EQ(e.accuracy, -1);
        ++over;
      }
    } else {
      EXPECT_EQ(e.status, EvaluationStatus::Ok);
      EXPECT_DOUBLE_EQ(e.reward, 100 * e.accuracy - reference);
    }
  }
  EXPECT_GT(over, 0);
  EXPECT_EQ(result.trainings, evaluator.trainings);
}

}  // namespace
}  // namespace qxbar
