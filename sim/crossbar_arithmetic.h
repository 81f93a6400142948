#pragma once

#include <cstdint>
#include <vector>

#include "sim/chip_spec.h"
#include "sim/core/policy.h"

namespace qxbar {

// What a chip computes for one layer at (w, a) bits, value by value: the one description of the crossbar
// arithmetic. The cost engines take the row grouping from it (how many reads and conversions a layer
// needs); accuracy takes the converted values from it. This file holds the rules and a scalar reference
// (plain loops over one input vector); nn/ holds a vectorised LibTorch implementation that a test keeps
// equal to the reference bit for bit.
//
// The rules, for integer weights W[o][i] in [-(2^(w-1) - 1), 2^(w-1) - 1] and integer inputs x[i]
// (unsigned a-bit, or two's-complement a-bit where the network feeds signed inputs):
// - Signed mapping. offset: cells hold W + (2^(w-1) - 1) and one reference column of unit cells gives
//   the sum of the inputs, converted like any column and subtracted times the offset after conversion.
//   differential-column: W+ = max(W, 0) and W- = max(-W, 0) on two columns, converted separately and
//   subtracted digitally. differential-row: input i drives row 2i with x and row 2i + 1 with -x; the
//   rows hold W+ and W-, so one column carries a signed analog sum.
// - Slices: a stored magnitude v is split into ceil(w / cell_bits) cells, slice s holding
//   (v >> (s * cell_bits)) mod 2^cell_bits, place value 2^(s * cell_bits).
// - Bit-planes: the input is applied in ceil(a / dac.bits) planes of dac.bits bits, least significant
//   first, plane p with place value 2^(p * dac.bits); of a signed input the most significant plane is
//   read as two's complement (the DAC drives a negative level), the others as unsigned.
// - Rows: the layer's physical rows (after differential-row doubling) are split into row tiles of
//   crossbar.rows and each tile into groups of crossbar.rows_per_read rows read at once.
// - Conversion: each column's sum over one row group for one plane is converted by an adc.bits ADC over
//   a range [low, high] given by adc.range (full: the largest sums the group's cells and plane could
//   produce; calibrated: a per-layer range fitted on calibration data; dynamic: the smallest and largest
//   sum among the columns of that conversion, per input vector). The LSB is the smallest power of two
//   (at least 1) with which 2^adc.bits codes span the range, and the code grid starts at low rounded
//   down to a multiple of the LSB: the shift-add merges codes by shifting, and every converted value is
//   an integer, so sums of them are exact in any order. Codes are rounded half to even and clipped.
//   The offset mapping's reference column is always converted over its full range.
// - Shift-add: converted values are weighted by their slice and plane place values and summed over
//   slices, planes, row groups and row tiles in the digital domain.
// With enough ADC bits for every full range the result is the exact integer product.

enum class AdcRange { Full, Calibrated, Dynamic };

// Range of the sums one conversion sees.
struct SumRange {
  double low = 0;
  double high = 0;
};

// The ADC's transfer function: the integer value the converter reports for analog sum `sum`.
double convert(double sum, SumRange range, int adc_bits);

// The fixed structure of one layer on the chip, without values.
struct CrossbarArithmetic {
  SignedMapping mapping = SignedMapping::DifferentialColumn;
  int weight_bits = 0;
  int input_bits = 0;
  bool signed_input = false;
  int cell_bits = 0;
  int slices = 0;  // ceil(weight_bits / cell_bits)
  int dac_bits = 0;
  int planes = 0;  // ceil(input_bits / dac_bits)
  int adc_bits = 0;
  AdcRange range = AdcRange::Full;
  std::int64_t fan_in = 0;          // logical rows: the layer's inputs
  std::int64_t physical_rows = 0;   // rows on the crossbars (doubled by differential-row)
  std::int64_t crossbar_rows = 0;
  std::int64_t rows_per_read = 0;

  // Physical rows [begin, end) read together; groups never straddle a row tile.
  struct RowGroup {
    std::int64_t begin = 0;
    std::int64_t end = 0;
  };
  std::vector<RowGroup> row_groups() const;
  // Groups the rows of one tile of `rows_in_tile` rows are read in.
  std::int64_t groups_in_tile(std::int64_t rows_in_tile) const;

  // Values one plane of the input takes: [low, high].
  SumRange plane_values(int plane) const;
  // The full range of one column's sum over `rows` physical rows of weight cells for `plane`.
  SumRange full_range(std::int64_t rows, int plane) const;
  // The same for the offset mapping's reference column of unit cells.
  SumRange reference_range(std::int64_t rows, int plane) const;
  // The value the offset mapping adds to every weight: 2^(weight_bits - 1) - 1.
  std::int64_t weight_offset() const;
};

CrossbarArithmetic crossbar_arithmetic(const ChipSpec& chip, std::int64_t fan_in, Bits bits, bool signed_input);

// The smallest and largest raw sum over all weight columns, row groups and planes for one input vector:
// what calibration (adc.range: calibrated) collects over calibration inputs.
SumRange observed_sums(const CrossbarArithmetic& arithmetic, const std::vector<std::int64_t>& weights,
                       std::int64_t outputs, const std::vector<std::int64_t>& input);

// The chip's result for one input vector: `weights` holds outputs x fan_in integers row-major, `input`
// fan_in integers. `calibrated` is the layer's range under adc.range: calibrated (ignored otherwise).
std::vector<double> reference_product(const CrossbarArithmetic& arithmetic, const std::vector<std::int64_t>& weights,
                                      std::int64_t outputs, const std::vector<std::int64_t>& input,
                                      SumRange calibrated = {});

}  // namespace qxbar
