#include "nn/crossbar_product.h"

#include <gtest/gtest.h>

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
    const SumRange seen = crossbar_sum_range(arithmetic, input.index({torch::indexing::Slice(0, 1)}), weight);
    EXPECT_EQ(seen.low, calibrated.low) << describe(c);
    EXPECT_EQ(seen.high, calibrated.high) << describe(c);
  }
}

TEST(CrossbarProduct, WideConvertersOverFullRangesGiveTheExactProduct) {
  for (const char* mapping : {"offset", "differential-column", "differential-row"}) {
    const Case c{mapping, 128, 32, 2, 2, 16, "full", {8, 8}, true};
    const auto [input, weight] = operands(c, 9, 300, 11, 7);
    const CrossbarArithmetic arithmetic = crossbar_arithmetic(chip_for(c), 300, c.bits, c.signed_input);
    EXPECT_TRUE(torch::equal(crossbar_product(arithmetic, input, weight), torch::matmul(input, weight.t()))) << mapping;
  }
}

TEST(CrossbarProduct, NetworkOnWideConvertersMatchesIntegerEvaluation) {
  torch::manual_seed(11);
  ModelSpec spec = spec_for_dataset("lenet5", "fashion-mnist");
  Model model(spec);
  model.set_policy(uniform_policy(model.workload(), {6, 6}));
  const torch::Tensor images = torch::randn({4, 1, 28, 28});
  model.network().eval();
  model.set_integer_arithmetic(true);
  const torch::Tensor exact = model.forward(images);
  model.set_chip(std::make_shared<const ChipSpec>(
      load_chip("cimaq_default", {"adc.bits=16", "crossbar.rows=64", "crossbar.rows_per_read=16"})));
  EXPECT_TRUE(torch::equal(model.forward(images), exact));
  // A 3-bit converter reading 64 rows at once cannot resolve the same sums.
  model.set_chip(std::make_shared<const ChipSpec>(load_chip("cimaq_default", {"adc.bits=3", "crossbar.rows=64"})));
  EXPECT_FALSE(torch::equal(model.forward(images), exact));
}

TEST(CrossbarProduct, CalibratedConvertersNeedCalibrationFirst) {
  torch::manual_seed(12);
  Model model(spec_for_dataset("lenet5", "fashion-mnist"));
  model.set_policy(uniform_policy(model.workload(), {8, 8}));
  model.network().eval();
  model.set_chip(std::make_shared<const ChipSpec>(load_chip("cimaq_default", {"adc.range=calibrated"})));
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
