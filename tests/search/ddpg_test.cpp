#include "search/ddpg.h"

#include <gmock/gmock.h>
#include <nlohmann/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <variant>

#include "search/ddpg_networks.h"
#include "sim/core/errors.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

Workload four_layers() {
  return {"tiny",
          {{"a", LayerKind::Conv, 9, 8, 784, 1},
           {"b", LayerKind::Conv, 72, 16, 196, 1},
           {"c", LayerKind::Conv, 144, 32, 49, 1},
           {"d", LayerKind::Dense, 1568, 10, 1, 1}}};
}

TEST(Ddpg, SoftUpdateMovesTargetsByTau) {
  torch::nn::Linear target(3, 2);
  torch::nn::Linear source(3, 2);
  const torch::Tensor before = target->weight.clone();
  ddpg::soft_update(*target, *source, 0.25);
  EXPECT_TRUE(torch::allclose(target->weight, 0.75 * before + 0.25 * source->weight));
  ddpg::soft_update(*target, *source, 1.0);
  EXPECT_TRUE(torch::equal(target->bias, source->bias));
}

TEST(Ddpg, ReplayMemoryKeepsTheMostRecentAndSamplesOnlyThem) {
  ddpg::ReplayMemory memory(3);
  for (int i = 0; i < 5; ++i) memory.push({{static_cast<float>(i), 0}, static_cast<float>(i), 1.0F, {0, 0}, i == 4});
  ASSERT_EQ(memory.size(), 3u);
  std::vector<float> kept;
  for (std::size_t i = 0; i < memory.size(); ++i) kept.push_back(memory.at(i).action);
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, (std::vector<float>{2, 3, 4}));
  std::mt19937_64 rng(1);
  const ddpg::ReplayMemory::Batch batch = memory.sample(64, rng);
  ASSERT_EQ(batch.states.sizes(), (std::vector<std::int64_t>{64, 2}));
  EXPECT_GE(batch.actions.min().item<float>(), 2.0F);
  EXPECT_TRUE(torch::equal(batch.states.select(1, 0).unsqueeze(1), batch.actions));
  // Only the transition of action 4 ended an episode.
  EXPECT_TRUE(torch::equal(batch.not_terminal.eq(0), batch.actions.eq(4)));
}

// Proposals of `episodes` episodes told a reward that grows as bits shrink (or, with bits_rewarded, grow).
std::vector<std::string> proposals(std::uint64_t seed, int episodes, const DdpgOptions& options,
                                   bool bits_rewarded = false) {
  const PolicySpace space(four_layers(), {}, {});
  const std::unique_ptr<SearchAlgorithm> agent = make_ddpg_search(options, seed, space);
  std::vector<std::string> policies;
  for (int episode = 0; episode < episodes; ++episode) {
    const Policy policy = agent->ask();
    double bits = 0;
    for (const Bits& b : policy.layers) bits += b.w + b.a;
    Evaluation evaluation;
    evaluation.reward = bits_rewarded ? bits : -bits;
    agent->tell(evaluation);
    policies.push_back(policy_summary(policy));
  }
  return policies;
}

DdpgOptions quick_options() {
  DdpgOptions options;
  options.warmup = 5;
  options.hidden = 32;
  options.batch_size = 16;
  return options;
}

TEST(Ddpg, SameSeedSameProposalsAfterWarmup) {
  const std::vector<std::string> first = proposals(7, 15, quick_options());
  EXPECT_EQ(first, proposals(7, 15, quick_options()));
  EXPECT_NE(first, proposals(8, 15, quick_options()));
}

TEST(Ddpg, WarmupCountsEpisodesAsHaqDoes) {
  // HAQ acts at random in episodes 0..warmup and learns from the end of episode warmup + 1 on, so rewards
  // first shape the proposal of episode warmup + 2. A fast actor makes that one round of updates visible.
  DdpgOptions options = quick_options();
  options.lr_actor = 0.05;
  const std::vector<std::string> prefer_few = proposals(5, 20, options);
  const std::vector<std::string> prefer_many = proposals(5, 20, options, true);
  const auto after_learning = static_cast<std::ptrdiff_t>(options.warmup) + 2;
  EXPECT_TRUE(std::equal(prefer_few.begin(), prefer_few.begin() + after_learning, prefer_many.begin()));
  EXPECT_NE(prefer_few[after_learning], prefer_many[after_learning]);
}

TEST(Ddpg, LearnsToPreferWhatIsRewarded) {
  DdpgOptions options = quick_options();
  options.warmup = 10;
  options.lr_actor = 1e-3;
  const std::vector<std::string> policies = proposals(3, 70, options);
  const auto mean_bits = [&](std::size_t from, std::size_t to) {
    double sum = 0;
    for (std::size_t i = from; i < to; ++i) {
      const Policy policy = parse_policy_summary(policies[i], "test");
      for (const Bits& b : policy.layers) sum += b.w + b.a;
    }
    return sum / static_cast<double>(to - from);
  };
  // Random warm-up actions average 5 bits per decision; the learned actor should go well below.
  EXPECT_LT(mean_bits(60, 70), mean_bits(0, 10) - 10.0);
}

// The algorithm options with DDPG's parameter `key` set to `value`.
AlgorithmOptions with_parameter(const std::string& key, double value) {
  AlgorithmOptions options;
  OptionSet parameters = options.parameters("ddpg").options();
  std::visit([&](auto* target) {
    using Value = std::remove_pointer_t<decltype(target)>;
    if constexpr (std::is_arithmetic_v<Value>) *target = static_cast<Value>(value);
  }, option_named(parameters, key).target);
  return options;
}

TEST(AlgorithmOptions, AssignedOptionsHoldTheirOwnCopyOfEveryParameter) {
  AlgorithmOptions assigned;
  assigned.name = "random";
  const AlgorithmOptions changed = with_parameter("warmup", 7);
  assigned = changed;
  EXPECT_EQ(assigned.name, "ddpg");
  EXPECT_EQ(assigned.run_key().dump(), changed.run_key().dump());
  // Changing the copy leaves the original as it was.
  OptionSet parameters = assigned.parameters("ddpg").options();
  *std::get<int*>(option_named(parameters, "warmup").target) = 9;
  EXPECT_NE(assigned.run_key().dump(), changed.run_key().dump());
}

TEST(Ddpg, EveryParameterIsCheckedAtItsRangeByItsOptionName) {
  const PolicySpace space(four_layers(), {}, {});
  for (const Option<DdpgOptions>& parameter : ddpg_parameters()) {
    SCOPED_TRACE(parameter.key);
    const Bounds& range = parameter.bounds;
    const auto make = [&](double value) { return make_search_algorithm(with_parameter(parameter.key, value), {space, 0}); };
    const double smallest_valid = range.above_minimum ? range.minimum + 1e-3 : range.minimum;
    EXPECT_NO_THROW(make(smallest_valid));
    // Just outside the range: below an inclusive minimum, at an exclusive one.
    const double below = range.above_minimum ? range.minimum : range.minimum - 1;
    EXPECT_THAT(testing::error_message<ConfigError>([&] { make(below); }),
                ::testing::StartsWith(std::string("search.ddpg: ") + parameter.key + ": "));
    EXPECT_THAT(testing::error_message<ConfigError>([&] { make(below); }), ::testing::HasSubstr(": must be in "));
    if (!std::isinf(range.maximum)) {
      EXPECT_NO_THROW(make(range.maximum));
      EXPECT_THROW(make(range.maximum * 2), ConfigError);
    }
  }
}

}  // namespace
}  // namespace qxbar
