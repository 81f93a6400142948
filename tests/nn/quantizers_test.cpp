#include "nn/quantizers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nn/quant_layers.h"
#include "sim/core/errors.h"

namespace qxbar {
namespace {

torch::Tensor values(std::initializer_list<float> list) { return torch::tensor(std::vector<float>(list)); }

void expect_tensor_near(const torch::Tensor& actual, const torch::Tensor& expected, double tolerance = 1e-6) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_TRUE(torch::allclose(actual, expected, 0, tolerance)) << "actual " << actual << "\nexpected " << expected;
}

void set_parameter(torch::nn::Module& module, const std::string& name, double value) {
  torch::NoGradGuard no_grad;
  module.named_parameters()[name].fill_(value);
}

TEST(Quantizers, IntegerRanges) {
  EXPECT_EQ(weight_range(4).positive, 7);
  EXPECT_EQ(weight_range(4).negative, 7);
  EXPECT_EQ(weight_range(2).positive, 1);
  EXPECT_EQ(activation_range(4, false).positive, 15);
  EXPECT_EQ(activation_range(4, false).negative, 0);
  EXPECT_EQ(activation_range(4, true).negative, 8);
  EXPECT_EQ(activation_range(4, true).positive, 7);
}

TEST(Quantizers, MinMaxWeightsLandOnExactLevels) {
  WeightQuantizer quantizer(1, quantizers().at("minmax"), false);
  quantizer->set_bits(4);
  const torch::Tensor weight = values({-1.0f, -0.55f, 0.0f, 0.3f, 1.0f});
  // Step 1/7: -0.55 * 7 = -3.85 rounds to -4, 0.3 * 7 = 2.1 rounds to 2.
  expect_tensor_near(quantizer(weight), values({-1.0f, -4.0f / 7, 0.0f, 2.0f / 7, 1.0f}));
  EXPECT_NEAR(quantizer->step().item<float>(), 1.0 / 7, 1e-7);
}

TEST(Quantizers, WeightsUseAtMostTheirLevels) {
  torch::manual_seed(0);
  const torch::Tensor weight = torch::randn({64, 16, 3, 3});
  for (const int bits : {2, 3, 5, 8}) {
    for (const Quantizer& rule : quantizers().entries()) {
      WeightQuantizer quantizer(64, rule, false);
      quantizer->set_bits(bits);
      const torch::Tensor quantized = quantizer(weight);  // initialises the step before it is read
      const torch::Tensor levels = std::get<0>(torch::_unique(quantized / quantizer->step()));
      EXPECT_LE(levels.numel(), (1 << bits) - 1) << bits;
      EXPECT_TRUE(torch::allclose(levels, levels.round(), 0, 1e-4)) << "not integers at " << bits << " bits";
    }
  }
}

TEST(Quantizers, PerChannelStepsFollowEachChannel) {
  WeightQuantizer quantizer(2, quantizers().at("minmax"), true);
  quantizer->set_bits(8);
  const torch::Tensor weight = torch::stack({values({-2.0f, 1.0f}), values({0.5f, 0.25f})});
  quantizer(weight);
  expect_tensor_near(quantizer->step(), values({2.0f / 127, 0.5f / 127}));
}

TEST(Quantizers, EachChannelUsesAtMostTheLevelsOfItsOwnWidth) {
  torch::manual_seed(3);
  const torch::Tensor weight = torch::randn({6, 8, 3, 3});
  const std::vector<int> widths = {1, 2, 3, 4, 8, 2};
  for (const Quantizer& rule : quantizers().entries()) {
    WeightQuantizer quantizer(6, rule, true);
    quantizer->set_channel_bits(widths);
    EXPECT_EQ(quantizer->bits(), 8);
    EXPECT_EQ(quantizer->channel_bits(), widths);
    const torch::Tensor quantized = quantizer(weight);  // initialises the steps before they are read
    const torch::Tensor integer = quantized / quantizer->step().view({6, 1, 1, 1});
    for (std::size_t c = 0; c < widths.size(); ++c) {
      const torch::Tensor levels = std::get<0>(torch::_unique(integer[static_cast<std::int64_t>(c)].round()));
      const int allowed = widths[c] == 1 ? 2 : (1 << widths[c]) - 1;
      EXPECT_LE(levels.numel(), allowed) << rule.name << " channel " << c;
      EXPECT_GE(levels.numel(), std::min(allowed, 2)) << rule.name << " channel " << c;
      const double top = widths[c] == 1 ? 1 : (1 << (widths[c] - 1)) - 1;
      EXPECT_LE(levels.abs().max().item<double>(), top) << rule.name << " channel " << c;
    }
  }
}

TEST(Quantizers, ChannelsOfOneWidthQuantizeAsThatWidthPerLayer) {
  torch::manual_seed(4);
  const torch::Tensor weight = torch::randn({5, 7});
  for (const Quantizer& rule : quantizers().entries()) {
    for (const int bits : {1, 3, 6}) {
      WeightQuantizer per_layer(5, rule, true);
      WeightQuantizer per_channel(5, rule, true);
      per_layer->set_bits(bits);
      per_channel->set_channel_bits(std::vector<int>(5, bits));
      const torch::Tensor a = weight.clone().requires_grad_(true);
      const torch::Tensor b = weight.clone().requires_grad_(true);
      const torch::Tensor out_a = per_layer(a);
      const torch::Tensor out_b = per_channel(b);
      EXPECT_TRUE(torch::equal(out_a, out_b)) << rule.name << " " << bits;
      (out_a * weight).sum().backward();
      (out_b * weight).sum().backward();
      EXPECT_TRUE(torch::equal(a.grad(), b.grad())) << rule.name << " " << bits;
      EXPECT_TRUE(torch::equal(per_layer->named_parameters()["step"].grad(), per_channel->named_parameters()["step"].grad()))
          << rule.name << " " << bits;
    }
  }
}

TEST(Quantizers, PerChannelWidthsNeedAStepPerChannelAndOneWidthEach) {
  WeightQuantizer per_tensor(4, quantizers().at("minmax"), false);
  EXPECT_THROW(per_tensor->set_channel_bits({4, 4, 4, 4}), ConfigError);
  WeightQuantizer per_channel(4, quantizers().at("minmax"), true);
  EXPECT_THROW(per_channel->set_channel_bits({4, 4}), DataError);
  per_channel->set_channel_bits({4, 2, 4, 2});
  per_channel->set_bits(5);
  EXPECT_TRUE(per_channel->channel_bits().empty());
  EXPECT_EQ(per_channel->bits(), 5);
}

TEST(Quantizers, AWidthHeldInATensorQuantizesAsThatWidthAndLearns) {
  torch::manual_seed(5);
  const torch::Tensor weight = torch::randn({4, 9});
  WeightQuantizer eight(4, quantizers().at("minmax"), true);
  eight->set_bits(8);
  eight(weight);  // the clip at 8 bits: each channel's largest |w|
  WeightQuantizer four(4, quantizers().at("minmax"), true);
  four->set_bits(4);
  const torch::Tensor bits = torch::full({}, 4.0, torch::requires_grad());
  const torch::Tensor learned = eight->forward_at(weight, bits);
  EXPECT_TRUE(torch::allclose(learned, four(weight), 0, 1e-6));
  (learned * torch::randn_like(weight)).sum().backward();
  ASSERT_TRUE(bits.grad().defined());
  EXPECT_NE(bits.grad().item<double>(), 0.0);

  ActivationQuantizer input(quantizers().at("pact"), false);
  input->set_bits(8);
  const torch::Tensor x = torch::rand({64}) * 3;
  input(x);
  const torch::Tensor input_bits = torch::full({}, 3.0, torch::requires_grad());
  const torch::Tensor q = input->forward_at(x, input_bits);
  EXPECT_LE(std::get<0>(torch::_unique(q)).numel(), 8);
  (q * torch::randn_like(x)).sum().backward();
  EXPECT_NE(input_bits.grad().item<double>(), 0.0);
}

TEST(Quantizers, MseClipIsNoWorseThanMinMax) {
  torch::manual_seed(1);
  const torch::Tensor weight = torch::randn({4096});
  WeightQuantizer minmax(1, quantizers().at("minmax"), false);
  WeightQuantizer mse(1, quantizers().at("mse"), false);
  minmax->set_bits(3);
  mse->set_bits(3);
  const double minmax_error = (minmax(weight) - weight).pow(2).sum().item<double>();
  const double mse_error = (mse(weight) - weight).pow(2).sum().item<double>();
  EXPECT_LT(mse_error, minmax_error);
  EXPECT_LT(mse->step().item<float>(), minmax->step().item<float>());
}

TEST(Quantizers, BinaryWeightsAreSignTimesMeanMagnitude) {
  WeightQuantizer quantizer(1, quantizers().at("minmax"), false);
  quantizer->set_bits(1);
  expect_tensor_near(quantizer(values({-3.0f, 1.0f, 0.0f, 2.0f})), values({-1.5f, 1.5f, 1.5f, 1.5f}));
}

TEST(Quantizers, StraightThroughGradientInsideTheRangeOnly) {
  WeightQuantizer quantizer(1, quantizers().at("minmax"), false);
  quantizer->set_bits(4);
  torch::Tensor weight = values({-1.0f, 0.3f, 1.0f}).requires_grad_(true);
  quantizer(weight);  // initialises the step to 1/7 from max |w| = 1
  set_parameter(*quantizer, "step", 0.1);  // now 1.0 lies beyond the clip at 0.7
  quantizer(weight).sum().backward();
  expect_tensor_near(weight.grad(), values({0.0f, 1.0f, 0.0f}));
}

TEST(Quantizers, WeightsOnTheClipPassTheirWholeGradient) {
  // min-max steps put the largest |w| exactly on the top level: the clip must pass its gradient whole,
  // per layer and with widths per channel.
  WeightQuantizer per_layer(2, quantizers().at("minmax"), true);
  per_layer->set_bits(4);
  WeightQuantizer per_channel(2, quantizers().at("minmax"), true);
  per_channel->set_channel_bits({4, 3});
  for (WeightQuantizer* quantizer : {&per_layer, &per_channel}) {
    torch::Tensor weight = torch::stack({values({-1.0f, 0.3f, 0.5f}), values({0.2f, 0.4f, -0.1f})}).requires_grad_(true);
    (*quantizer)(weight).sum().backward();
    expect_tensor_near(weight.grad(), torch::ones({2, 3}));
  }
}

TEST(Quantizers, LsqStepGradientFollowsTheFormula) {
  WeightQuantizer quantizer(1, quantizers().at("lsq"), false);
  quantizer->set_bits(3);  // levels -3..3
  const torch::Tensor weight = values({0.26f, -0.9f, 0.05f, 2.0f});
  quantizer(weight);
  set_parameter(*quantizer, "step", 0.2);
  quantizer(weight).sum().backward();
  // d/ds of s * round(clamp(w/s)): round(w/s) - w/s inside the range, the clipped level outside; all times
  // LSQ's gradient scale 1 / sqrt(numel * Qp).
  const double inside = (std::round(1.3) - 1.3) + (std::round(0.25) - 0.25);
  const double expected = (inside + (-3.0) + 3.0) / std::sqrt(4 * 3.0);
  EXPECT_NEAR(quantizer->named_parameters()["step"].grad().item<double>(), expected, 1e-5);
}

TEST(Quantizers, UnsignedActivationsClipAtZeroAndAtTheCalibratedMax) {
  ActivationQuantizer quantizer(quantizers().at("minmax"), false);
  quantizer->set_bits(2);  // levels 0..3
  const torch::Tensor input = values({-1.0f, 0.4f, 1.1f, 3.0f});
  // Calibrated clip 3: step 1.
  expect_tensor_near(quantizer(input), values({0.0f, 0.0f, 1.0f, 3.0f}));
  expect_tensor_near(quantizer(values({5.0f})), values({3.0f}));  // the calibration stays
}

TEST(Quantizers, SignedActivationsAreSymmetric) {
  ActivationQuantizer quantizer(quantizers().at("minmax"), true);
  quantizer->set_bits(3);  // levels -4..3, step = 2 / 3
  expect_tensor_near(quantizer(values({-2.0f, -1.0f, 0.0f, 2.0f})), values({-2.0f, -2.0f / 3 * 2, 0.0f, 2.0f}));
}

TEST(Quantizers, PercentileCalibrationIgnoresOutliers) {
  ActivationQuantizer percentile(quantizers().at("mse"), false);
  ActivationQuantizer minmax(quantizers().at("minmax"), false);
  percentile->set_bits(8);
  minmax->set_bits(8);
  torch::Tensor input = torch::linspace(0, 1, 100000);
  input[0] = 1000.0f;
  percentile(input);
  minmax(input);
  EXPECT_NEAR(percentile->step().item<float>() * 255, 1.0, 0.01);
  EXPECT_NEAR(minmax->step().item<float>() * 255, 1000.0, 1e-3);
}

TEST(Quantizers, PactClipLearnsFromClippedInputsOnly) {
  ActivationQuantizer quantizer(quantizers().at("pact"), false);
  quantizer->set_bits(2);
  const torch::Tensor input = values({0.5f, 2.9f, 7.0f, 9.0f});
  quantizer(input);
  set_parameter(*quantizer, "clip_or_step", 6.0);  // step 2
  const torch::Tensor output = quantizer(input);
  expect_tensor_near(output, values({0.0f, 2.0f, 6.0f, 6.0f}));
  output.sum().backward();
  EXPECT_NEAR(quantizer->named_parameters()["clip_or_step"].grad().item<float>(), 2.0, 1e-6);
}

TEST(Quantizers, FloatBitsLeaveTensorsUntouched) {
  const torch::Tensor input = torch::randn({10});
  EXPECT_TRUE(torch::equal(WeightQuantizer(1, quantizers().at("minmax"), false)(input), input));
  EXPECT_TRUE(torch::equal(ActivationQuantizer(quantizers().at("lsq"), true)(input), input));
}

TEST(Quantizers, ChangingBitsRecalibrates) {
  ActivationQuantizer quantizer(quantizers().at("minmax"), false);
  quantizer->set_bits(4);
  quantizer(values({0.0f, 3.0f}));
  quantizer->set_bits(2);
  quantizer(values({0.0f, 6.0f}));
  EXPECT_NEAR(quantizer->step().item<float>(), 2.0, 1e-6);
}

TEST(Quantizers, AStepKeptPerBitWidthSurvivesSwitchingAway) {
  WeightQuantizer weights(1, quantizers().at("lsq"), false);
  weights->keep_step_per_bits({2, 4});
  const torch::Tensor w = torch::linspace(-1, 1, 64);
  weights->set_bits(4);
  weights(w);
  const double learned = weights->step().item<double>() * 1.5;
  {
    torch::NoGradGuard no_grad;
    weights->named_parameters()["step_4b"].fill_(learned);
  }
  weights->set_bits(2);
  weights(w);
  EXPECT_GT(weights->step().item<double>(), learned);  // 2 bits start from their own, coarser step
  weights->set_bits(4);
  weights(w);
  EXPECT_NEAR(weights->step().item<double>(), learned, 1e-6);
  // A width without a kept step is initialised afresh, as without keep_step_per_bits.
  weights->set_bits(3);
  weights(w);
  EXPECT_GT(std::abs(weights->step().item<double>() - learned), 1e-3);

  ActivationQuantizer activations(quantizers().at("lsq"), false);
  activations->keep_step_per_bits({2, 8});
  activations->set_bits(8);
  activations(values({0.0f, 1.0f, 2.0f}));
  const double eight = activations->step().item<double>();
  activations->set_bits(2);
  activations(values({0.0f, 10.0f, 20.0f}));
  activations->set_bits(8);
  activations(values({0.0f, 10.0f, 20.0f}));
  EXPECT_NEAR(activations->step().item<double>(), eight, 1e-9);
  EXPECT_THROW(ActivationQuantizer(quantizers().at("minmax"), false)->keep_step_per_bits({4}), std::logic_error);
}

TEST(Quantizers, OnlyLearnedClipsAndStepsReceiveGradients) {
  const torch::Tensor input = torch::linspace(-1, 3, 64).requires_grad_(true);
  for (const Quantizer& rule : quantizers().entries()) {
    ActivationQuantizer quantizer(rule, false);
    quantizer->set_bits(3);
    quantizer(input);  // calibrates on the full range
    quantizer(input * 2).sum().backward();  // half the inputs now clip
    const torch::Tensor clip_or_step = quantizer->named_parameters()["clip_or_step"];
    const bool learns = std::string(rule.name) == "pact" || std::string(rule.name) == "lsq";
    ASSERT_EQ(clip_or_step.grad().defined(), learns) << rule.name;
    if (learns) EXPECT_GT(clip_or_step.grad().abs().item<float>(), 0) << rule.name;
  }
}

TEST(Quantizers, UnknownNamesListTheChoices) {
  EXPECT_THAT([] { quant_options("pcat", false, "folded"); },
              testing::ThrowsMessage<ConfigError>(testing::HasSubstr("unknown quantizer 'pcat' (choose minmax, mse, pact or lsq)")));
  EXPECT_THAT([] { quant_options("lsq", false, "fused"); },
              testing::ThrowsMessage<ConfigError>(testing::HasSubstr("(choose folded or separate)")));
}

TEST(QuantLayers, BiasIsAnIntegerAtTheProductScale) {
  torch::manual_seed(3);
  QuantLinear layer(torch::nn::LinearOptions(8, 4), QuantOptions{});
  layer->set_bits({4, 6});
  const torch::Tensor input = torch::rand({5, 8});
  const torch::Tensor output = layer(input);
  const torch::Tensor product_step = layer->weight_quantizer()->step() * layer->input_quantizer()->step();
  // With zero input, the output is the quantized bias alone.
  const torch::Tensor bias = layer(torch::zeros({1, 8})).squeeze(0);
  const torch::Tensor integers = bias / product_step;
  EXPECT_TRUE(torch::allclose(integers, integers.round(), 0, 1e-3)) << integers;
  EXPECT_EQ(output.sizes(), (std::vector<std::int64_t>{5, 4}));
}

}  // namespace
}  // namespace qxbar
