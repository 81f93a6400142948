#include "nn/learned_bits.h"

#include <gtest/gtest.h>

#include "nn/trainer.h"
#include "sim/core/errors.h"

namespace qxbar {
namespace {

// LeNet-5 at W8A8 after a short quantization-aware training on synthetic images.
Model w8a8_lenet(const DataSplits& data) {
  torch::manual_seed(1);
  Model model(spec_for_dataset("lenet5", "synthetic"));
  model.set_policy(uniform_policy(model.workload(), {8, 8}));
  TrainOptions options;
  options.epochs = 1;
  options.lr = 0.02;
  options.batch_size = 64;
  options.show_progress = false;
  CheckpointInfo info;
  info.spec = model.spec();
  train(model, data, options, info, "");
  return model;
}

DataSplits synthetic_splits() {
  DataSplits data;
  data.train = synthetic_dataset(640, 10, 1, 28, 21);
  data.val = synthetic_dataset(200, 10, 1, 28, 22);
  return data;
}

BitWidthLearning towards(double weight_bits, double activation_bits, const Model& model) {
  BitWidthLearning options;
  options.searched.assign(model.layer_count(), true);
  options.searched.front() = options.searched.back() = false;
  options.min_bits = 2;
  options.max_bits = 8;
  options.target_weight_bits = weight_bits;
  options.target_activation_bits = activation_bits;
  options.penalty = 1;
  options.epochs = 3;
  options.lr = 0.01;
  options.width_lr = 0.05;
  options.batch_size = 64;
  options.seed = 4;
  options.show_progress = false;
  return options;
}

TEST(LearnedBits, WidthsHeldInTensorsAtTheModelsBitsComputeAsTheModel) {
  const DataSplits data = synthetic_splits();
  Model model = w8a8_lenet(data);
  model.network().eval();
  const torch::Tensor images = data.val.inputs(torch::arange(64));
  const torch::Tensor expected = model.forward(images);
  for (std::size_t l = 0; l < model.layer_count(); ++l) {
    model.layer(l).set_learned_widths(torch::full({}, 8.0), torch::full({}, 8.0));
  }
  // The same levels and steps; only the bias stays unquantized, within 1% of the largest output.
  const torch::Tensor got = model.forward(images);
  EXPECT_LT((got - expected).abs().max().item<double>(), 0.01 * expected.abs().max().item<double>());
}

TEST(LearnedBits, WidthsMoveToTheirTargetsAndTheFixedLayersStay) {
  const DataSplits data = synthetic_splits();
  Model model = w8a8_lenet(data);
  const torch::Tensor weight_before = model.layer(2).weight().clone();
  const LearnedWidths learned = learn_bit_widths(model, data, towards(4, 5, model));
  EXPECT_TRUE(learned.meets_targets);
  EXPECT_LE(learned.weight_bits, 4);
  EXPECT_LE(learned.activation_bits, 5);
  EXPECT_LT(learned.weight_bits, 8);
  EXPECT_EQ(learned.policy.layers.front(), (Bits{8, 8}));
  EXPECT_EQ(learned.policy.layers.back(), (Bits{8, 8}));
  for (std::size_t l = 1; l + 1 < learned.policy.layers.size(); ++l) {
    EXPECT_GE(learned.policy.layers[l].w, 2);
    EXPECT_LE(learned.policy.layers[l].w, 8);
    EXPECT_GE(learned.policy.layers[l].a, 2);
  }
  EXPECT_GE(learned.epoch, 1);
  EXPECT_GE(learned.val_accuracy, 0);
  // Only quantizers train; the layers compute at the bits set in them again afterwards.
  EXPECT_TRUE(torch::equal(model.layer(2).weight(), weight_before));
  EXPECT_EQ(model.policy().layers, uniform_policy(model.workload(), {8, 8}).layers);
}

TEST(LearnedBits, ReproducibleWithTheSeedAndPowersOfTwoOnly) {
  const DataSplits data = synthetic_splits();
  BitWidthLearning options = towards(4, 4, w8a8_lenet(data));
  options.powers_of_two = true;
  Model first = w8a8_lenet(data);
  Model second = w8a8_lenet(data);
  const LearnedWidths a = learn_bit_widths(first, data, options);
  const LearnedWidths b = learn_bit_widths(second, data, options);
  EXPECT_EQ(a.policy.layers, b.policy.layers);
  EXPECT_EQ(a.val_accuracy, b.val_accuracy);
  for (const Bits& bits : a.policy.layers) {
    for (const int width : {bits.w, bits.a}) EXPECT_TRUE(width == 2 || width == 4 || width == 8) << width;
  }
}

TEST(LearnedBits, ATargetNoEpochMeetsIsReportedAsMissed) {
  const DataSplits data = synthetic_splits();
  Model model = w8a8_lenet(data);
  BitWidthLearning options = towards(2, 2, model);
  options.penalty = 0;  // nothing pushes the widths down
  options.epochs = 1;
  const LearnedWidths learned = learn_bit_widths(model, data, options);
  EXPECT_FALSE(learned.meets_targets);
  EXPECT_EQ(learned.epoch, 1);
  EXPECT_GT(learned.weight_bits, 2);
}

}  // namespace
}  // namespace qxbar
