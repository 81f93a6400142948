#include "search/space.h"

#include <gtest/gtest.h>

#include "tests/test_support.h"

namespace qxbar {
namespace {

Workload three_layers() {
  return {"tiny",
          {{"conv1", LayerKind::Conv, 1 * 9, 8, 784, 1},
           {"conv2", LayerKind::Conv, 8 * 9, 16, 196, 1},
           {"fc", LayerKind::Dense, 784, 10, 1, 1}}};
}

std::vector<LayerGeometry> three_geometries() {
  return {{1, 8, 3, 1, 784, 72}, {8, 16, 3, 2, 784, 1152}, {784, 10, 1, 1, 1, 7840}};
}

TEST(PolicySpace, TwoDecisionsPerLayerWeightsFirst) {
  const PolicySpace space(three_layers(), three_geometries(), {});
  ASSERT_EQ(space.decisions().size(), 6u);
  EXPECT_EQ(space.decisions()[0].layer, 0u);
  EXPECT_TRUE(space.decisions()[0].weights);
  EXPECT_FALSE(space.decisions()[1].weights);
  EXPECT_EQ(space.decisions()[5].layer, 2u);
}

TEST(PolicySpace, PinnedFirstAndLastLayersAreNoDecisions) {
  const PolicySpace space(three_layers(), three_geometries(), {2, 8, 0, true});
  ASSERT_EQ(space.decisions().size(), 2u);
  EXPECT_EQ(space.decisions()[0].layer, 1u);
  const Policy policy = space.policy_for({0.0, 0.0});
  EXPECT_EQ(policy_summary(policy), "8/8;2/2;8/8");
}

TEST(PolicySpace, StateScalesEachFeatureOverTheNetwork) {
  const PolicySpace space(three_layers(), three_geometries(), {});
  // index, conv?, in channels, out channels, kernel, stride, feature size, parameters, weights?, previous action
  const std::vector<float> first = space.state(0, 0.25);
  ASSERT_EQ(first.size(), PolicySpace::kStateSize);
  EXPECT_FLOAT_EQ(first[0], 0.0F);
  EXPECT_FLOAT_EQ(first[1], 1.0F);
  EXPECT_FLOAT_EQ(first[2], 0.0F);
  EXPECT_FLOAT_EQ(first[3], 0.0F);
  EXPECT_FLOAT_EQ(first[4], 1.0F);
  EXPECT_FLOAT_EQ(first[5], 0.0F);
  EXPECT_FLOAT_EQ(first[6], 1.0F);
  EXPECT_FLOAT_EQ(first[7], 0.0F);
  EXPECT_FLOAT_EQ(first[8], 1.0F);
  EXPECT_FLOAT_EQ(first[9], 0.25F);
  const std::vector<float> activations_of_conv2 = space.state(3, 0.5);
  EXPECT_FLOAT_EQ(activations_of_conv2[0], 0.5F);
  EXPECT_FLOAT_EQ(activations_of_conv2[3], 1.0F);  // 16 output channels, the most
  EXPECT_FLOAT_EQ(activations_of_conv2[5], 1.0F);  // the only stride-2 layer
  EXPECT_FLOAT_EQ(activations_of_conv2[7], (1152.0F - 72.0F) / (7840.0F - 72.0F));
  EXPECT_FLOAT_EQ(activations_of_conv2[8], 0.0F);
  const std::vector<float> fc = space.state(4, 0.0);
  EXPECT_FLOAT_EQ(fc[0], 1.0F);
  EXPECT_FLOAT_EQ(fc[1], 0.0F);
  EXPECT_FLOAT_EQ(fc[2], 1.0F);
}

TEST(PolicySpace, WithoutGeometryTheMatrixShapeDescribesLayers) {
  const PolicySpace space(three_layers(), {}, {});
  const std::vector<float> fc = space.state(4, 0.0);
  EXPECT_FLOAT_EQ(fc[2], 1.0F);  // 784 rows, the most
  EXPECT_FLOAT_EQ(fc[6], 0.0F);  // one invocation, the fewest
}

TEST(PolicySpace, ActionsMapToBitsAndCellResolutionRestrictsWeights) {
  const PolicySpace free_space(three_layers(), {}, {2, 8, 0, false});
  EXPECT_EQ(policy_summary(free_space.policy_for({0.0, 1.0, 0.5, 0.5, 0.99, 0.01})), "2/8;5/5;8/2");
  const PolicySpace cells(three_layers(), {}, {2, 8, 4, false});
  EXPECT_EQ(policy_summary(cells.policy_for({0.0, 1.0, 0.49, 0.5, 0.51, 0.01})), "4/8;4/5;8/2");
}

TEST(PolicySpace, UniformBaselinesWithAndWithoutCellResolution) {
  const auto labels = [](const PolicySpace& space, int cell_bits) {
    std::string text;
    for (const auto& baseline : space.baselines(cell_bits)) text += baseline.label + " ";
    return text;
  };
  const PolicySpace space(three_layers(), {}, {2, 8, 0, false});
  EXPECT_EQ(labels(space, 1), "W8A8 W7A7 W6A6 W5A5 W4A4 W3A3 W2A2 ");
  EXPECT_EQ(labels(space, 4), "W8A8 W7A7 W8A7 W6A6 W8A6 W5A5 W8A5 W4A4 W3A3 W4A3 W2A2 W4A2 ");
  const PolicySpace pinned(three_layers(), {}, {4, 6, 0, true});
  EXPECT_EQ(labels(pinned, 2), "W8A8 W6A6 W5A5 W6A5 W4A4 ");
  EXPECT_EQ(policy_summary(pinned.baselines(2).back().policy), "8/8;4/4;8/8");
}

TEST(PolicySpace, RejectsImpossibleBitRanges) {
  EXPECT_THROW(PolicySpace(three_layers(), {}, {5, 4, 0, false}), ConfigError);
  EXPECT_THROW(PolicySpace(three_layers(), {}, {0, 4, 0, false}), ConfigError);
  EXPECT_THROW(PolicySpace(three_layers(), std::vector<LayerGeometry>(2), {}), ConfigError);
}

}  // namespace
}  // namespace qxbar
