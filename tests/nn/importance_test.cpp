#include "nn/importance.h"

#include <gtest/gtest.h>

#include "sim/core/errors.h"

namespace qxbar {
namespace {

ModelSpec lsq_lenet() {
  ModelSpec spec = spec_for_dataset("lenet5", "fashion-mnist");
  spec.quant = quant_options("lsq", false, "folded");
  return spec;
}

IndicatorTraining quick(const Model& model) {
  IndicatorTraining options;
  options.weight_bits = {2, 4, 6, 8};
  options.activation_bits = {3, 5, 8};
  options.searched.assign(model.layer_count(), true);
  options.searched.front() = options.searched.back() = false;
  options.epochs = 1;
  options.lr = 0.01;
  options.batch_size = 64;
  options.seed = 5;
  options.show_progress = false;
  return options;
}

TEST(ImportanceIndicators, OneLearnedStepPerCandidateWidthOfEverySearchedLayer) {
  torch::manual_seed(0);
  Model model(lsq_lenet());
  const Dataset train = synthetic_dataset(256, 10, 1, 28, 3);
  IndicatorTraining options = quick(model);
  const Policy before = model.policy();
  const std::vector<LayerIndicators> indicators = train_importance_indicators(model, train, options);
  ASSERT_EQ(indicators.size(), model.layer_count());
  EXPECT_TRUE(indicators.front().weights.empty());
  EXPECT_TRUE(indicators.back().activations.empty());
  for (std::size_t l = 1; l + 1 < model.layer_count(); ++l) {
    ASSERT_EQ(indicators[l].weights.size(), 4u) << l;
    ASSERT_EQ(indicators[l].activations.size(), 3u) << l;
    // Fewer levels over the same weights need coarser steps: the indicator falls as the bits rise.
    EXPECT_GT(indicators[l].weights.at(2), indicators[l].weights.at(4)) << l;
    EXPECT_GT(indicators[l].weights.at(6), indicators[l].weights.at(8)) << l;
    EXPECT_GT(indicators[l].activations.at(3), indicators[l].activations.at(8)) << l;
  }
  EXPECT_EQ(policy_summary(model.policy()), policy_summary(before));
}

TEST(ImportanceIndicators, ReproducibleWithTheSeedAndTrained) {
  const Dataset train = synthetic_dataset(256, 10, 1, 28, 3);
  const auto run = [&](std::uint64_t seed, int epochs) {
    torch::manual_seed(0);
    Model model(lsq_lenet());
    IndicatorTraining options = quick(model);
    options.seed = seed;
    options.epochs = epochs;
    return train_importance_indicators(model, train, options);
  };
  const auto first = run(5, 1);
  const auto again = run(5, 1);
  const auto longer = run(5, 2);
  EXPECT_EQ(first[1].weights, again[1].weights);
  EXPECT_EQ(first[2].activations, again[2].activations);
  // The steps learn: another epoch moves them from where one left them.
  EXPECT_NE(first[1].weights, longer[1].weights);
}

TEST(ImportanceIndicators, RefusesAnEmptyTrainingSet) {
  Model model(lsq_lenet());
  EXPECT_THROW(train_importance_indicators(model, Dataset{}, quick(model)), ConfigError);
}

}  // namespace
}  // namespace qxbar
