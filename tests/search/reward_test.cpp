#include "search/reward.h"

#include "sim/core/errors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

namespace qxbar {
namespace {

TEST(Reward, CimaqRewardBelowAndAboveTheTarget) {
  // Reference 90 %, 1 point allowed: target 89 %.
  EXPECT_DOUBLE_EQ(cimaq_reward(87.5, 90.0, 1.0, 0.5), -15.0);
  EXPECT_DOUBLE_EQ(cimaq_reward(89.0, 90.0, 1.0, 0.5), 100.0);
  EXPECT_DOUBLE_EQ(cimaq_reward(89.5, 90.0, 1.0, 0.25), 300.05);
  EXPECT_DOUBLE_EQ(cimaq_reward(90.0, 90.0, 1.0, 1.0), 0.1);
  EXPECT_LT(cimaq_reward(90.0, 90.0, 1.0, 2.0), 0.0);  // costlier than W8A8
}

TEST(Reward, CostMetrics) {
  NetworkCost cost;
  cost.latency_ns = 2000;
  cost.energy_pj[Component::Adc] = 30;
  cost.energy_pj[Component::Crossbar] = 20;
  EXPECT_EQ(cost_metrics().at("latency").of(cost), 2000);
  EXPECT_EQ(cost_metrics().at("energy").of(cost), 50);
  EXPECT_EQ(cost_metrics().at("edp").of(cost), 100000);
  EXPECT_THAT([] { cost_metrics().at("area", "reward"); },
              testing::ThrowsMessage<ConfigError>(testing::HasSubstr("reward: unknown cost 'area' (choose latency")));
}

TEST(Reward, ActionsCoverEveryBitWidthEqually) {
  std::map<int, int> hits;
  for (int i = 0; i < 7000; ++i) ++hits[action_to_bits((i + 0.5) / 7000.0, 2, 8)];
  ASSERT_EQ(hits.size(), 7u);
  for (const auto& [bits, count] : hits) EXPECT_EQ(count, 1000) << bits;
  EXPECT_EQ(action_to_bits(0.0, 2, 8), 2);
  EXPECT_EQ(action_to_bits(1.0, 2, 8), 8);
  EXPECT_EQ(action_to_bits(1.7, 2, 8), 8);
}

TEST(Reward, CellResolutionRestrictsWeightBits) {
  EXPECT_EQ(action_to_cell_bits(0.0, 2, 8, 4), 4);
  EXPECT_EQ(action_to_cell_bits(0.49, 2, 8, 4), 4);
  EXPECT_EQ(action_to_cell_bits(0.5, 2, 8, 4), 8);
  EXPECT_EQ(action_to_cell_bits(1.0, 2, 8, 4), 8);
  EXPECT_EQ(action_to_cell_bits(0.6, 1, 8, 2), 6);  // choices 2, 4, 6, 8
  EXPECT_EQ(action_to_cell_bits(0.3, 1, 3, 4), 4);  // no multiple in range: the next one up
}

}  // namespace
}  // namespace qxbar
