#include "nn/crossbar_product.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "nn/models.h"
#include "sim/chip_spec.h"
#include "sim/core/errors.h"

namespace qxbar {
namespace {

struct Case {
  std::string mapping;
  int rows;
  int rows_per_read;
  int cell_bits;
  int dac_bits;
  int adc_bits;
  std::string range;
  Bits bits;
  bool signed_input;
};

std::string describe(const Case& c) {
  return c.mapping + " rows " + std::to_string(c.rows) + "/" + std::to_string(c.rows_per_read) + " cell " +
         std::to_string(c.cell_bits) + " dac " + std::to_string(c.dac_bits) + " adc " + std::to_string(c.adc_bits) + " " +
         c.range + " W" + std::to_string(c.bits.w) + "A" + std::to_string(c.bits.a) + (c.signed_input ? " signed" : "");
}

ChipSpec chip_for(const Case& c) {
  return load_chip("cimaq_default", {"mapping=" + c.mapping, "crossbar.rows=" + std::to_string(c.rows),
                                     "crossbar.rows_per_read=" + std::to_string(c.rows_per_read),
                                     "crossbar.cell_bits=" + std::to_string(c.cell_bits),
                                     "dac.bits=" + std::to_string(c.dac_bits), "adc.bits=" + std::to_string(c.adc_bits),
                                     "adc.range=" + c.range});
}

// Random integer operands in the ranges the quantizers produce.
std::pair<torch::Tensor, torch::Tensor> operands(const Case& c, std::int64_t samples, std::int64_t fan_in,
                                                 std::int64_t outputs, std::uint64_t seed) {
  torch::manual_seed(static_cast<std::int64_t>(seed));
  const std::int64_t weight_level = (std::int64_t{1} << (c.bits.w - 1)) - 1;
  const std::int64_t input_low = c.signed_input ? -(std::int64_t{1} << (c.bits.a - 1)) : 0;
  const std::int64_t input_high = c.signed_input ? (std::int64_t{1} << (c.bits.a - 1)) : (std::int64_t{1} << c.bits.a);
  return {torch::randint(input_low, input_high, {samples, fan_in}, torch::kFloat64),
          torch::randint(-weight_level, weight_level + 1, {outputs, fan_in}, torch::kFloat64)};
}

std::vector<std::int64_t> integers(const torch::Tensor& t) {
  const torch::Tensor flat = t.to(torch::kInt64).contiguous().flatten();
  return {flat.data_ptr<std::int64_t>(), flat.data_ptr<std::int64_t>() + flat.numel()};
}

std::vector<Case> cases() {
  std::vector<Case> all;
  for (const char* mapping : {"offset", "differential-column", "differential-row"}) {
    for (const char* range : {"full", "dynamic", "calibrated"}) {
      all.push_back({mapping, 64, 16, 2, 1, 4, range, {6, 5}, false});
      all.push_back({mapping, 32, 32, 1, 2, 3, range, {4, 8}, true});
      all.push_back({mapping, 128, 64, 4, 4, 6, range, {8, 8}, false});
      all.push_back({mapping, 16, 4, 3, 3, 2, range, {5, 7}, true});
      all.push_back({mapping, 32, 4, 1, 1, 8, range, {8, 8}, false});  // every conversion exact but calibrated ones
      all.push_back({mapping, 128, 128, 8, 4, 10, range, {8, 8}, false});  // sums beyond int16, summed in float32
    }
  }
  return all;
}

TEST(CrossbarProduct, EqualsTheScalarReferenceBitForBit) {
  std::uint64_t seed = 0;
  for (const Case& c : cases()) {
    const ChipSpec chip = chip_for(c);
    const std::int64_t fan_in = 75;  // several row tiles, a partial last group
    const std::int64_t outputs = 7;
    const auto [input, weight] = operands(c, 5, fan_in, outputs, ++seed);
    const CrossbarArithmetic arithmetic = crossbar_arithmetic(chip, fan_in, c.bits, c.signed_input);
    const std::vector<std::int64_t> weights = integers(weight);
    // A calibrated range from the first sample, so that the others clip somewhere.
    const SumRange calibrated = observed_sums(arithmetic, weights, outputs, integers(input[0]));
    const torch::Tensor vectorised = crossbar_product(arithmetic, input, weight, calibrated);
    for (std::int64_t sample = 0; sample < input.size(0); ++sample) {
      const std::vector<double> expected = reference_product(arithmetic, weights, outputs, integers(input[sample]), calibrated);
      for (std::int64_t o = 0; o < outputs; ++o) {
        ASSERT_EQ(vectorised[sample][o].item<double>(), expected[static_cast<std::size_t>(o)])
            << describe(c) << ", sample " << sample << ", output " << o;
      }
    }
    const SumRange seen = ProgrammedLayer(arithmetic, weight).sum_range(input.index({torch::indexing::Slice(0, 1)}));
    EXPECT_EQ(seen.low, calibrated.low) << describe(c);
    EXPECT_EQ(seen.high, calibrated.high) << describe(c);
  }
}

// Channels of mixed widths compute, channel by channel, what a layer at each channel's width computes
// (columns are converted independently over full and calibrated ranges); channels all of one width
// compute what that width per layer computes under every range.
TEST(CrossbarProduct, PerChannelWidthsComputeEachChannelAtItsOwnWidth) {
  std::uint64_t seed = 100;
  for (const Case& c : cases()) {
    const ChipSpec chip = chip_for(c);
    const std::int64_t fan_in = 75;
    const std::int64_t outputs = 6;
    auto [input, weight] = operands(c, 4, fan_in, outputs, ++seed);
    const int narrow = std::max(1, c.bits.w / 2);
    const std::vector<int> widths = {c.bits.w, narrow, c.bits.w, narrow, narrow, c.bits.w};
    const std::int64_t narrow_level = (std::int64_t{1} << (narrow - 1)) - 1;
    for (std::int64_t o = 0; o < outputs; ++o) {
      if (widths[static_cast<std::size_t>(o)] == narrow) weight[o].clamp_(-narrow_level, narrow_level);
    }
    const Bits mixed = Bits::per_channel(widths, c.bits.a);
    const ProgrammedChannels programmed(channel_groups(chip, fan_in, outputs, mixed, c.signed_input), weight);
    const SumRange calibrated = programmed.sum_range(input.index({torch::indexing::Slice(0, 1)}));
    const torch::Tensor result = programmed.product(input, calibrated);
    if (c.range != "dynamic") {
      for (const int width : {c.bits.w, narrow}) {
        const torch::Tensor alone =
            crossbar_product(crossbar_arithmetic(chip, fan_in, {width, c.bits.a}, c.signed_input), input, weight, calibrated);
        for (std::int64_t o = 0; o < outputs; ++o) {
          if (widths[static_cast<std::size_t>(o)] != width) continue;
          EXPECT_TRUE(torch::equal(result.select(1, o), alone.select(1, o))) << describe(c) << ", output " << o;
        }
      }
    }
    const Bits uniform = Bits::per_channel(std::vector<int>(outputs, c.bits.w), c.bits.a);
    const ProgrammedChannels same(channel_groups(chip, fan_in, outputs, uniform, c.signed_input), weight);
    const CrossbarArithmetic per_layer = crossbar_arithmetic(chip, fan_in, c.bits, c.signed_input);
    EXPECT_TRUE(torch::equal(same.product(input, calibrated), crossbar_product(per_layer, input, weight, calibrated)))
        << describe(c);
  }
}

// Mean and variance of the error against the exact product, per output, over repeated programmings and
// conversions of one input vector.
struct ErrorMoments {
  std::vector<double> mean;
  std::vector<double> variance;
};

template <typename Draw>
ErrorMoments error_moments(int draws, std::int64_t outputs, const std::vector<double>& exact, Draw draw) {
  ErrorMoments moments{std::vector<double>(static_cast<std::size_t>(outputs)), std::vector<double>(static_cast<std::size_t>(outputs))};
  std::vector<double> squares(static_cast<std::size_t>(outputs));
  for (int d = 0; d < draws; ++d) {
    const std::vector<double> result = draw();
    for (std::size_t o = 0; o < result.size(); ++o) {
      const double error = result[o] - exact[o];
      moments.mean[o] += error / draws;
      squares[o] += error * error / draws;
    }
  }
  for (std::size_t o = 0; o < squares.size(); ++o) {
    moments.variance[o] = (squares[o] - moments.mean[o] * moments.mean[o]) * draws / (draws - 1);
  }
  return moments;
}

// With noise the two implementations draw from different generators: their errors must agree in mean and
// variance. With n draws the standard error of a mean is sqrt(var / n) and a sample variance's relative
// standard error sqrt(2 / (n - 1)); the bounds below are about five of those.
TEST(CrossbarProduct, NoisyProductsAgreeWithTheReferenceInMeanAndVariance) {
  constexpr int kDraws = 1000;
  const std::vector<std::vector<std::string>> noises = {
      {"noise.programming=0.05"},
      {"noise.read=0.004"},
      {"noise.thermal=0.01", "noise.shot=0.3", "crossbar.read_energy_fj_per_cell=2"},
      {"noise.programming=0.03", "noise.drift_nu=0.05", "noise.drift_nu_std=0.02", "noise.read_time_s=86400"},
  };
  std::uint64_t seed = 100;
  for (const char* mapping : {"offset", "differential-column", "differential-row"}) {
    for (std::size_t n = 0; n < noises.size(); ++n) {
      const std::vector<std::string>& noise = noises[n];
      {
        const std::string range = n % 2 == 0 ? "full" : "dynamic";
        const Case c{mapping, 32, 16, 2, 2, 6, range, {6, 6}, std::string(mapping) == "differential-column"};
        std::vector<std::string> overrides = {"mapping=" + c.mapping, "crossbar.rows=32", "crossbar.rows_per_read=16",
                                              "crossbar.cell_bits=2", "dac.bits=2", "adc.bits=6", "adc.range=" + c.range};
        overrides.insert(overrides.end(), noise.begin(), noise.end());
        const ChipSpec chip = load_chip("cimaq_default", overrides);
        const std::int64_t fan_in = 40;
        const std::int64_t outputs = 3;
        const auto [input, weight] = operands(c, 1, fan_in, outputs, ++seed);
        const CrossbarArithmetic arithmetic = crossbar_arithmetic(chip, fan_in, c.bits, c.signed_input);
        ASSERT_TRUE(arithmetic.noise.any());
        const std::vector<std::int64_t> weights = integers(weight);
        const std::vector<std::int64_t> x = integers(input[0]);
        const torch::Tensor exact_product = torch::matmul(input, weight.t())[0];
        const std::vector<double> exact(exact_product.data_ptr<double>(), exact_product.data_ptr<double>() + outputs);
        NoiseSource source(seed);
        const ErrorMoments reference = error_moments(kDraws, outputs, exact, [&] {
          return reference_product(arithmetic, weights, outputs, x, {}, &source);
        });
        torch::manual_seed(static_cast<std::int64_t>(seed));
        const ErrorMoments vectorised = error_moments(kDraws, outputs, exact, [&] {
          const torch::Tensor result = crossbar_product(arithmetic, input, weight)[0].contiguous();
          return std::vector<double>(result.data_ptr<double>(), result.data_ptr<double>() + outputs);
        });
        for (std::size_t o = 0; o < exact.size(); ++o) {
          const std::string what = describe(c) + " " + noise.front() + ", output " + std::to_string(o);
          const double variance = std::max(reference.variance[o], vectorised.variance[o]);
          EXPECT_GT(variance, 0.0) << what;
          EXPECT_NEAR(reference.mean[o], vectorised.mean[o], 5 * std::sqrt(2 * variance / kDraws) + 1e-9) << what;
          EXPECT_NEAR(reference.variance[o], vectorised.variance[o], 5 * std::sqrt(2.0 / kDraws) * variance) << what;
        }
      }
    }
  }
}

TEST(CrossbarProduct, ConversionNoiseGrowsAsEnergyPerMacFalls) {
  const Case c{"differential-column", 64, 64, 2, 1, 8, "full", {8, 8}, false};
  const auto [input, weight] = operands(c, 200, 64, 4, 3);
  const torch::Tensor exact = torch::matmul(input, weight.t());
  double previous_error = std::numeric_limits<double>::infinity();
  for (const char* energy : {"0.1", "1", "10", "100"}) {
    const ChipSpec chip = load_chip("cimaq_default", {"crossbar.rows=64", "crossbar.cell_bits=2", "adc.bits=8",
                                                      "noise.thermal=0.01", "noise.shot=1",
                                                      std::string("crossbar.read_energy_fj_per_cell=") + energy});
    torch::manual_seed(5);
    const torch::Tensor result = crossbar_product(crossbar_arithmetic(chip, 64, c.bits, false), input, weight);
    const double error = (result - exact).square().mean().sqrt().item<double>();
    EXPECT_LT(error, previous_error) << "energy per MAC " << energy << " fJ";
    previous_error = error;
  }
}

TEST(CrossbarProduct, APolicysEnergyPerCellReadActsAsTheChipsWould) {
  const Case c{"differential-column", 64, 64, 2, 1, 8, "full", {8, 8}, false};
  const auto [input, weight] = operands(c, 50, 64, 4, 3);
  const std::vector<std::string> noisy = {"crossbar.rows=64", "crossbar.cell_bits=2", "adc.bits=8", "noise.thermal=0.01"};
  std::vector<std::string> at_ten = noisy;
  at_ten.push_back("crossbar.read_energy_fj_per_cell=10");
  torch::manual_seed(9);
  const torch::Tensor chip_energy =
      crossbar_product(crossbar_arithmetic(load_chip("cimaq_default", at_ten), 64, {8, 8}, false), input, weight);
  torch::manual_seed(9);
  const torch::Tensor policy_energy =
      crossbar_product(crossbar_arithmetic(load_chip("cimaq_default", noisy), 64, {8, 8, 10.0}, false), input, weight);
  EXPECT_TRUE(torch::equal(chip_energy, policy_energy));
  torch::manual_seed(9);
  const torch::Tensor chip_default =
      crossbar_product(crossbar_arithmetic(load_chip("cimaq_default", noisy), 64, {8, 8}, false), input, weight);
  EXPECT_FALSE(torch::equal(chip_default, policy_energy));
}

// A freshly initialised LeNet-5 at W8A8, in evaluation mode, on cimaq_default with `overrides`.
Model lenet5_on_chip(std::uint64_t seed, const std::vector<std::string>& overrides) {
  torch::manual_seed(static_cast<std::int64_t>(seed));
  Model model(spec_for_dataset("lenet5", "fashion-mnist"));
  model.set_policy(uniform_policy(model.workload(), {8, 8}));
  model.network().eval();
  model.set_chip(std::make_shared<const ChipSpec>(load_chip("cimaq_default", overrides)));
  return model;
}

TEST(CrossbarProduct, ALayerKeepsItsProgrammingUntilReprogrammed) {
  Model model = lenet5_on_chip(13, {"noise.programming=0.1"});
  const torch::Tensor images = torch::randn({2, 1, 28, 28});
  const torch::Tensor first = model.forward(images);
  EXPECT_TRUE(torch::equal(model.forward(images), first)) << "programming noise is drawn once, not per product";
  model.reprogram();
  EXPECT_FALSE(torch::equal(model.forward(images), first)) << "programming anew draws new noise";
}

TEST(CrossbarProduct, WideConvertersOverFullRangesGiveTheExactProduct) {
  for (const char* mapping : {"offset", "differential-column", "differential-row"}) {
    const Case c{mapping, 128, 32, 2, 2, 16, "full", {8, 8}, true};
    const auto [input, weight] = operands(c, 9, 300, 11, 7);
    const CrossbarArithmetic arithmetic = crossbar_arithmetic(chip_for(c), 300, c.bits, c.signed_input);
    EXPECT_TRUE(torch::equal(crossbar_product(arithmetic, input, weight), torch::matmul(input, weight.t()))) << mapping;
  }
}

// A network's outputs on converters wide enough for every sum equal its exact integer evaluation; a 3-bit
// converter reading 64 rows at once cannot resolve the same sums.
void expect_exact_on_wide_converters_only(Model& model, const torch::Tensor& images) {
  model.set_integer_arithmetic(true);
  const torch::Tensor exact = model.forward(images);
  model.set_chip(std::make_shared<const ChipSpec>(
      load_chip("cimaq_default", {"adc.bits=16", "crossbar.rows=64", "crossbar.rows_per_read=16"})));
  EXPECT_TRUE(torch::equal(model.forward(images), exact));
  model.set_chip(std::make_shared<const ChipSpec>(load_chip("cimaq_default", {"adc.bits=3", "crossbar.rows=64"})));
  EXPECT_FALSE(torch::equal(model.forward(images), exact));
}

TEST(CrossbarProduct, NetworkOnWideConvertersMatchesIntegerEvaluation) {
  torch::manual_seed(11);
  ModelSpec spec = spec_for_dataset("lenet5", "fashion-mnist");
  Model model(spec);
  model.set_policy(uniform_policy(model.workload(), {6, 6}));
  const torch::Tensor images = torch::randn({4, 1, 28, 28});
  model.network().eval();
  expect_exact_on_wide_converters_only(model, images);
}

// Depthwise layers run block-diagonally, as the cost model maps them: on converters wide enough for every
// sum the whole network still computes its exact integer result, and narrow ones change it.
TEST(CrossbarProduct, GroupedConvolutionsRunOnTheChipAsMapped) {
  torch::manual_seed(14);
  ModelSpec spec = spec_for_dataset("mobilenetv2", "cifar10");
  spec.width = 0.25;
  Model model(spec);
  model.set_policy(uniform_policy(model.workload(), {6, 6}));
  model.network().eval();
  const torch::Tensor images = torch::randn({2, 3, 32, 32});
  expect_exact_on_wide_converters_only(model, images);
}

TEST(CrossbarProduct, CalibratedConvertersNeedCalibrationFirst) {
  Model model = lenet5_on_chip(12, {"adc.range=calibrated"});
  const torch::Tensor images = torch::randn({2, 1, 28, 28});
  EXPECT_THROW(model.forward(images), ConfigError);
  model.set_calibrating(true);
  const torch::Tensor calibrating = model.forward(images);
  model.set_calibrating(false);
  const std::optional<SumRange> range = model.layer(1).calibrated_range();
  ASSERT_TRUE(range.has_value());
  EXPECT_LT(range->low, range->high);
  EXPECT_EQ(model.forward(images).sizes(), calibrating.sizes());
}

}  // namespace
}  // namespace qxbar
