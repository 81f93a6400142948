#include "sim/crossbar_arithmetic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "sim/mapper.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using qxbar::testing::TempDir;

ChipSpec chip_with(const std::vector<std::string>& overrides) {
  TempDir dir;
  return load_chip(dir.write("chip.yaml", "{}\n"), overrides);
}

struct Layer {
  std::int64_t outputs = 0;
  std::vector<std::int64_t> weights;  // outputs x fan_in, row-major
  std::vector<std::int64_t> input;
};

Layer random_layer(std::mt19937_64& random, std::int64_t fan_in, std::int64_t outputs, Bits bits, bool signed_input) {
  const std::int64_t weight_limit = (std::int64_t{1} << (bits.w - 1)) - 1;
  std::uniform_int_distribution<std::int64_t> weight(-weight_limit, weight_limit);
  std::uniform_int_distribution<std::int64_t> input(signed_input ? -(std::int64_t{1} << (bits.a - 1)) : 0,
                                                    (std::int64_t{1} << (signed_input ? bits.a - 1 : bits.a)) - 1);
  Layer layer{outputs, {}, {}};
  for (std::int64_t i = 0; i < outputs * fan_in; ++i) layer.weights.push_back(weight(random));
  for (std::int64_t i = 0; i < fan_in; ++i) layer.input.push_back(input(random));
  return layer;
}

std::vector<double> exact_product(const Layer& layer) {
  const auto fan_in = static_cast<std::int64_t>(layer.input.size());
  std::vector<double> product;
  for (std::int64_t output = 0; output < layer.outputs; ++output) {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < fan_in; ++i) sum += layer.weights[output * fan_in + i] * layer.input[i];
    product.push_back(static_cast<double>(sum));
  }
  return product;
}

std::vector<double> chip_product(const ChipSpec& chip, const Layer& layer, Bits bits, bool signed_input = false,
                                 SumRange calibrated = {}) {
  const CrossbarArithmetic arithmetic =
      crossbar_arithmetic(chip, static_cast<std::int64_t>(layer.input.size()), bits, signed_input);
  return reference_product(arithmetic, layer.weights, layer.outputs, layer.input, calibrated);
}

double mean_absolute_error(const std::vector<double>& actual, const std::vector<double>& expected) {
  double total = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) total += std::abs(actual[i] - expected[i]);
  return total / static_cast<double>(actual.size());
}

// Dynamic ranges and a range calibrated on the input itself lie within the full range, so they are exact too.
TEST(CrossbarArithmetic, SixteenBitConvertersGiveTheExactProduct) {
  struct Geometry {
    int rows;
    int rows_per_read;
    int cell_bits;
    int dac_bits;
  };
  std::mt19937_64 random(7);
  std::uniform_int_distribution<std::int64_t> fan_in(1, 40);
  std::uniform_int_distribution<std::int64_t> outputs(1, 4);
  for (const Geometry& geometry : {Geometry{16, 16, 2, 1}, Geometry{16, 4, 1, 2}, Geometry{8, 3, 4, 3},
                                   Geometry{32, 5, 3, 4}, Geometry{12, 12, 1, 1}, Geometry{64, 64, 4, 4}}) {
    // The widest full range: every row of a group at the largest cell times the widest span of a plane.
    ASSERT_LE(geometry.rows_per_read * ((1 << geometry.cell_bits) - 1) * ((1 << geometry.dac_bits) - 1), 65535);
    for (const char* mapping : {"offset", "differential-column", "differential-row"}) {
      for (const char* range : {"full", "dynamic", "calibrated"}) {
        const ChipSpec chip = chip_with({"crossbar.rows=" + std::to_string(geometry.rows),
                                         "crossbar.rows_per_read=" + std::to_string(geometry.rows_per_read),
                                         "crossbar.cell_bits=" + std::to_string(geometry.cell_bits),
                                         "dac.bits=" + std::to_string(geometry.dac_bits), "adc.bits=16",
                                         std::string("adc.range=") + range, std::string("mapping=") + mapping});
        for (const bool signed_input : {false, true}) {
          for (const Bits& bits : {Bits{1, 1}, Bits{2, 3}, Bits{5, 8}, Bits{8, 4}, Bits{3, 7}, Bits{16, 2}}) {
            const Layer layer = random_layer(random, fan_in(random), outputs(random), bits, signed_input);
            const CrossbarArithmetic arithmetic =
                crossbar_arithmetic(chip, static_cast<std::int64_t>(layer.input.size()), bits, signed_input);
            const SumRange calibrated = observed_sums(arithmetic, layer.weights, layer.outputs, layer.input);
            EXPECT_EQ(reference_product(arithmetic, layer.weights, layer.outputs, layer.input, calibrated),
                      exact_product(layer))
                << mapping << " " << range << " rows " << geometry.rows << "/" << geometry.rows_per_read
                << " cells " << geometry.cell_bits << " dac " << geometry.dac_bits
                << (signed_input ? " signed" : " unsigned") << " w" << bits.w << "a" << bits.a << " fan-in "
                << layer.input.size();
          }
        }
      }
    }
  }
}

// Two rows of 1-bit cells driven by 2-bit DACs: a column's sum lies in [0, 2 x 1 x 3] = [0, 6], which a
// 2-bit converter spans with LSB 2 (codes 0, 2, 4, 6; with LSB 1 its top code, 3, falls short of 6).
// Weights of w = 2 lie in [-1, 1], so of their two slices the upper one is always 0.
std::vector<std::string> two_row_chip(const char* mapping, const char* range = "full") {
  return {"crossbar.rows=2", "crossbar.cell_bits=1", "dac.bits=2", "adc.bits=2", std::string("mapping=") + mapping,
          std::string("adc.range=") + range};
}

const Layer kTwoRowLayer{3, {1, 1, 1, 0, 1, -1}, {3, 2}};  // exact product 5, 3, 1

TEST(CrossbarArithmetic, CoarseConverterRoundsHalfToEvenByHand) {
  // differential-column: W+ sums 5, 3, 3 and W- sums 0, 0, 2. 5 / 2 = 2.5 rounds to code 2 (4), 3 / 2 = 1.5
  // to code 2 (4), 2 / 2 to code 1 (2): outputs 4, 4 - 0, 4 - 2.
  EXPECT_EQ(chip_product(chip_with(two_row_chip("differential-column")), kTwoRowLayer, {2, 2}),
            (std::vector<double>{4, 4, 2}));
  // One row per read: each group's sums lie in [0, 3], which 2 bits span with LSB 1, so nothing rounds.
  std::vector<std::string> one_row = two_row_chip("differential-column");
  one_row.push_back("crossbar.rows_per_read=1");
  EXPECT_EQ(chip_product(chip_with(one_row), kTwoRowLayer, {2, 2}), (std::vector<double>{5, 3, 1}));
}

TEST(CrossbarArithmetic, OffsetMappingSubtractsTheConvertedReferenceByHand) {
  // Offset 1: W = [1, -1] is stored as [2, 0], slice 0 [0, 0] and slice 1 [1, 0]; W = [0, 1] as [1, 2],
  // slice 0 [1, 0] and slice 1 [0, 1]. With x = [3, 1]:
  //   output 0: slice 0 sums 0 (0); slice 1 sums 3 (1.5 -> code 2 -> 4) at place 2: 8.
  //   output 1: slice 0 sums 3 (-> 4); slice 1 sums 1 (0.5 -> code 0 -> 0): 4.
  //   reference: 3 + 1 = 4 over [0, 6] (-> 4), times the offset 1, subtracted: 4, 0 (exact 2, 1).
  const Layer layer{2, {1, -1, 0, 1}, {3, 1}};
  EXPECT_EQ(chip_product(chip_with(two_row_chip("offset")), layer, {2, 2}), (std::vector<double>{4, 0}));
}

TEST(CrossbarArithmetic, DifferentialRowCarriesSignedSumsByHand) {
  // Rows x0, -x0, x1, -x1 hold W+ and W- of W = [1, -1]: cells 1, 0, 0, 1, so with x = [3, 2] the column
  // sums 3 - 2 = 1. Its full range has two rows of each sign: [-6, 6]. 2 bits need LSB 8 (base -8, top
  // code 16), and 1 converts to (1 + 8) / 8 = 1.125 -> code 1 -> 0; 4 bits span it with LSB 1: exact 1.
  const Layer layer{1, {1, -1}, {3, 2}};
  std::vector<std::string> chip = {"crossbar.rows=4", "crossbar.cell_bits=1", "dac.bits=2", "mapping=differential-row"};
  chip.push_back("adc.bits=2");
  EXPECT_EQ(chip_product(chip_with(chip), layer, {2, 2}), (std::vector<double>{0}));
  chip.back() = "adc.bits=4";
  EXPECT_EQ(chip_product(chip_with(chip), layer, {2, 2}), (std::vector<double>{1}));
}

TEST(CrossbarArithmetic, CalibratedRangeClipsByHand) {
  // Over [0, 3] 2 bits have LSB 1: the W+ sums 5, 3, 3 clip to 3, 3, 3; W- sums 0, 0, 2 stay: 3, 3, 1.
  const ChipSpec chip = chip_with(two_row_chip("differential-column", "calibrated"));
  EXPECT_EQ(chip_product(chip, kTwoRowLayer, {2, 2}, false, {0, 3}), (std::vector<double>{3, 3, 1}));
  // The layer's raw sums, which calibration would collect: 0 to 5.
  const SumRange observed = observed_sums(crossbar_arithmetic(chip, 2, {2, 2}, false), kTwoRowLayer.weights,
                                          kTwoRowLayer.outputs, kTwoRowLayer.input);
  EXPECT_EQ(observed.low, 0);
  EXPECT_EQ(observed.high, 5);
}

TEST(CrossbarArithmetic, DynamicRangeFollowsEachConversionsSumsByHand) {
  // x = [1, 0]: every W+ sum is 1, every other sum 0. Dynamic range [0, 1]: LSB 1, exact 1, 1, 1. The full
  // range [0, 6] has LSB 2, and 1 / 2 = 0.5 rounds to code 0: 0, 0, 0.
  const Layer layer{3, kTwoRowLayer.weights, {1, 0}};
  EXPECT_EQ(chip_product(chip_with(two_row_chip("differential-column", "dynamic")), layer, {2, 2}),
            (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(chip_product(chip_with(two_row_chip("differential-column", "full")), layer, {2, 2}),
            (std::vector<double>{0, 0, 0}));
  // With x = [3, 2] the sums reach 5: [0, 5] also needs LSB 2, as the full range does.
  EXPECT_EQ(chip_product(chip_with(two_row_chip("differential-column", "dynamic")), kTwoRowLayer, {2, 2}),
            (std::vector<double>{4, 4, 2}));
}

// Random weights against full-scale inputs (every bit-plane all ones) on offset cells: the column sums then
// spread over the middle of their full range, and the error follows the converter's step. With sparse
// inputs or differential columns the sums crowd one end of the range, and a converter too coarse for them
// rounds most of them alike (on both differential columns to 0, which cancels), so there the mean error
// need not fall with every added bit.
TEST(CrossbarArithmetic, ErrorFallsWithAdcBitsAndGrowsWithRowsPerRead) {
  std::mt19937_64 random(1);
  const Bits bits{4, 4};
  Layer layer = random_layer(random, 64, 256, bits, false);
  std::fill(layer.input.begin(), layer.input.end(), 15);
  const std::vector<double> exact = exact_product(layer);
  const auto error = [&](const std::vector<std::string>& overrides) {
    std::vector<std::string> all = {"crossbar.rows=64", "crossbar.cell_bits=2", "dac.bits=1", "mapping=offset",
                                    "adc.range=full"};
    all.insert(all.end(), overrides.begin(), overrides.end());
    return mean_absolute_error(chip_product(chip_with(all), layer, bits), exact);
  };

  // 64 rows of 2-bit cells with 1-bit inputs sum to at most 192: exact from 8 bits (255 codes) on.
  std::vector<double> by_adc_bits;
  for (int adc_bits = 2; adc_bits <= 10; ++adc_bits) {
    by_adc_bits.push_back(error({"adc.bits=" + std::to_string(adc_bits)}));
  }
  for (std::size_t i = 1; i < by_adc_bits.size(); ++i) {
    EXPECT_LE(by_adc_bits[i], by_adc_bits[i - 1]) << i + 2 << " bits";
  }
  EXPECT_GT(by_adc_bits.front(), 0);
  EXPECT_EQ(by_adc_bits[8 - 2], 0);

  // At 3 bits reads of one or two rows are exact (sums of at most 6), and wider reads need coarser steps.
  std::vector<double> by_rows_per_read;
  for (int rows = 1; rows <= 64; rows *= 2) {
    by_rows_per_read.push_back(error({"adc.bits=3", "crossbar.rows_per_read=" + std::to_string(rows)}));
  }
  for (std::size_t i = 1; i < by_rows_per_read.size(); ++i) {
    EXPECT_GE(by_rows_per_read[i], by_rows_per_read[i - 1]) << (1 << i) << " rows per read";
  }
  EXPECT_EQ(by_rows_per_read[1], 0);
  EXPECT_GT(by_rows_per_read.back(), by_rows_per_read[2]);
}

TEST(CrossbarArithmetic, ConvertEdgeCases) {
  // 1 bit over [0, 5]: the two codes reach 5 only with LSB 8, so the grid is {0, 8}.
  EXPECT_EQ(convert(3, {0, 5}, 1), 0);
  EXPECT_EQ(convert(4, {0, 5}, 1), 0);  // 0.5 rounds to the even code 0
  EXPECT_EQ(convert(5, {0, 5}, 1), 8);
  // 1 bit over [-3, 0]: LSB 4, grid {-4, 0}.
  EXPECT_EQ(convert(-2, {-3, 0}, 1), -4);  // 0.5 -> code 0
  EXPECT_EQ(convert(-1, {-3, 0}, 1), 0);
  EXPECT_THROW(convert(0, {-1, 1}, 1), std::invalid_argument);  // two codes cannot hold both signs
  // A range narrower than the LSB: [3, 3] in 1 bit is the grid {3, 4}; values outside clip.
  EXPECT_EQ(convert(3, {3, 3}, 1), 3);
  EXPECT_EQ(convert(10, {3, 3}, 1), 4);
  EXPECT_EQ(convert(-7, {3, 3}, 1), 3);
  // [0.25, 0.75] in 2 bits: LSB 1 from 0; 0.5 rounds to even 0, 0.6 to 1.
  EXPECT_EQ(convert(0.5, {0.25, 0.75}, 2), 0);
  EXPECT_EQ(convert(0.6, {0.25, 0.75}, 2), 1);
  // [-5, -1] in 2 bits: with LSB 1 the top code is -2, so LSB 2 from -6: grid {-6, -4, -2, 0}.
  EXPECT_EQ(convert(-5, {-5, -1}, 2), -6);  // 0.5 -> code 0
  EXPECT_EQ(convert(-3, {-5, -1}, 2), -2);  // 1.5 -> code 2
  EXPECT_EQ(convert(-1, {-5, -1}, 2), -2);  // 2.5 -> code 2
  EXPECT_EQ(convert(-100, {-5, -1}, 2), -6);
  EXPECT_EQ(convert(100, {-5, -1}, 2), 0);
  EXPECT_THROW(convert(0, {2, 1}, 4), std::invalid_argument);
}

TEST(CrossbarArithmetic, RowGroupsPlaneValuesAndRangesByHand) {
  const ChipSpec chip = chip_with({"crossbar.rows=8", "crossbar.rows_per_read=3", "crossbar.cell_bits=2",
                                   "dac.bits=2", "mapping=differential-row"});
  const CrossbarArithmetic arithmetic = crossbar_arithmetic(chip, 10, {4, 5}, true);
  EXPECT_EQ(arithmetic.physical_rows, 20);
  EXPECT_EQ(arithmetic.slices, 2);
  EXPECT_EQ(arithmetic.planes, 3);
  // Row tiles [0, 8), [8, 16), [16, 20), each cut into groups of 3.
  const std::vector<std::pair<std::int64_t, std::int64_t>> expected = {{0, 3},   {3, 6},   {6, 8},   {8, 11},
                                                                       {11, 14}, {14, 16}, {16, 19}, {19, 20}};
  std::vector<std::pair<std::int64_t, std::int64_t>> groups;
  for (const CrossbarArithmetic::RowGroup& group : arithmetic.row_groups()) groups.emplace_back(group.begin, group.end);
  EXPECT_EQ(groups, expected);
  // The cost engines' count of the same groups, tile by tile: 3, 3 and 2.
  const LayerMapping mapping = map_layer(chip, {"probe", LayerKind::Dense, 10, 1, 1, 1}, {4, 5});
  ASSERT_EQ(mapping.row_tiles, 3);
  EXPECT_EQ(mapping.groups_in_tile(0, 8) + mapping.groups_in_tile(1, 8), 6);
  EXPECT_EQ(mapping.groups_in_tile(2, 8), 2);

  // 5 signed bits in 2-bit planes: two unsigned planes, then 1 bit of two's complement.
  EXPECT_EQ(arithmetic.plane_values(0).low, 0);
  EXPECT_EQ(arithmetic.plane_values(0).high, 3);
  EXPECT_EQ(arithmetic.plane_values(2).low, -1);
  EXPECT_EQ(arithmetic.plane_values(2).high, 0);
  EXPECT_EQ(crossbar_arithmetic(chip, 10, {4, 5}, false).plane_values(2).high, 1);
  EXPECT_EQ(crossbar_arithmetic(chip, 10, {4, 4}, true).plane_values(1).low, -2);
  EXPECT_EQ(crossbar_arithmetic(chip, 10, {4, 4}, true).plane_values(1).high, 1);
  // Rows 1 to 3 of a differential-row layer: row 2 driven with x, rows 1 and 3 with -x. Cells up to 3 and
  // plane 0 in [0, 3]: [0, 9] from the positive row, [-9, 0] from each negative one.
  const SumRange full = arithmetic.full_range({1, 4}, 0);
  EXPECT_EQ(full.low, -18);
  EXPECT_EQ(full.high, 9);
  // The reference column: unit cells over three rows in the signed top plane of a 4-bit input, [-2, 1].
  const SumRange reference = crossbar_arithmetic(chip, 10, {4, 4}, true).reference_range({0, 3}, 1);
  EXPECT_EQ(reference.low, -6);
  EXPECT_EQ(reference.high, 3);
  EXPECT_EQ(arithmetic.weight_offset(), 7);
  EXPECT_EQ(crossbar_arithmetic(chip, 10, {1, 5}, true).weight_offset(), 0);
  EXPECT_EQ(read_groups(8, 3), 3);
  EXPECT_EQ(read_groups(4, 3), 2);
  EXPECT_EQ(read_groups(1, 3), 1);
}

TEST(CrossbarArithmetic, ValuesOutsideTheirBitsAreRejected) {
  const ChipSpec chip = chip_with({"mapping=offset"});
  const CrossbarArithmetic unsigned_input = crossbar_arithmetic(chip, 2, {3, 2}, false);
  EXPECT_THROW(reference_product(unsigned_input, {4, 0}, 1, {0, 0}), std::invalid_argument);   // |W| <= 3
  EXPECT_THROW(reference_product(unsigned_input, {3, -3}, 1, {4, 0}), std::invalid_argument);  // x <= 3
  EXPECT_THROW(reference_product(unsigned_input, {3, -3}, 1, {-1, 0}), std::invalid_argument);
  EXPECT_THROW(reference_product(unsigned_input, {3, -3}, 1, {0}), std::invalid_argument);
  EXPECT_THROW(reference_product(unsigned_input, {3, -3, 1}, 1, {0, 0}), std::invalid_argument);
  EXPECT_THROW(reference_product(crossbar_arithmetic(chip, 2, {3, 2}, true), {3, -3}, 1, {-3, 0}),
               std::invalid_argument);  // signed 2-bit: -2 to 1
  EXPECT_THROW(crossbar_arithmetic(chip, 2, {0, 2}, false), std::invalid_argument);
  EXPECT_THROW(crossbar_arithmetic(chip, 2, {3, kMaxPolicyBits + 1}, false), std::invalid_argument);
  EXPECT_THROW(crossbar_arithmetic(chip, 0, {3, 2}, false), std::invalid_argument);
}

TEST(CrossbarArithmetic, OneBitConverterRejectsLayersWithSignedSums) {
  const Layer layer{1, {1, -1}, {1, 0}};
  EXPECT_THROW(chip_product(chip_with({"adc.bits=1", "mapping=differential-row"}), layer, {2, 1}), ConfigError);
  const Layer signed_layer{1, {1, -1}, {-1, 0}};
  EXPECT_THROW(chip_product(chip_with({"adc.bits=1", "mapping=offset"}), signed_layer, {2, 1}, true), ConfigError);
  // Unsigned inputs on offset cells sum to non-negative values: 1 x (1 + 1) + 0 = 2 on the full range
  // [0, 2 x 3] (two rows of 2-bit cells), which 1 bit covers with LSB 8: 2 / 8 rounds to 0. The
  // reference, 1 over [0, 2], has LSB 2: 0.5 rounds to 0. The result, 0 - 0 x 1, is 0 (exact 1).
  EXPECT_EQ(chip_product(chip_with({"adc.bits=1", "mapping=offset"}), layer, {2, 1}), (std::vector<double>{0}));
}

}  // namespace
}  // namespace qxbar
