#pragma once

#include <cstdint>
#include <random>
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
//   read as two's complement (the DAC drives a negative level), the others as unsigned. The most
//   significant plane holds the a - (planes - 1) * dac.bits bits that remain.
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
//
// Noise (chip keys noise.*, all off by default), where a chip puts it:
// - Programming: every cell level v, the offset mapping's unit reference cells included, is programmed as
//   max(0, v + sigma_p N(0, 1)), sigma_p = noise.programming (2^cell_bits - 1), once each time weights are
//   programmed. Drift then scales it by (t / t0)^-nu, t = noise.read_time_s, t0 = 20 s, nu drawn per cell
//   from |N(noise.drift_nu, noise.drift_nu_std)|; the digital result is multiplied by
//   (t / t0)^noise.drift_nu and rounded half to even (global drift compensation).
// - Conversion: each column sum gets Gaussian noise before its conversion, drawn anew every time, of
//   variance read^2 + thermal^2 + shot^2 (conversion_noise below): read noise relative to the full range
//   of the sum; Garg et al.'s thermal noise k_t sqrt(n / E) (2^cell_bits - 1) x_max over n rows, and shot
//   noise k_s |g| |x| / sqrt(n E) over the group's programmed levels g and input levels x, E the energy
//   per MAC in units of noise.unit_energy_fj. A dynamic range is taken over the noisy sums; a calibrated
//   one is fitted on the programmed cells' sums without conversion noise.
// The vectorised implementation draws from LibTorch's generator and the reference from its own, so with
// noise the two agree in distribution, not value by value.
//
// Decisions where the rules leave room:
// - Full range: every cell may hold 0 to 2^cell_bits - 1 whatever its slice, and every row its plane's
//   values (negated on the odd rows of differential-row), each row independently of the others.
// - Spanning: the grid starts at base = floor(low / LSB) * LSB and its top code is base + (2^bits - 1) *
//   LSB, which must reach high. Only a 1-bit converter over a range holding both signs has no such LSB
//   (its two codes are one LSB apart and the grid starts at or below low); crossbar_arithmetic rejects that
//   chip for layers whose sums can be negative (signed inputs or differential-row).
// - Dynamic: the columns of a conversion are all weight columns of the layer (every output, slice and
//   differential column) read with one row group in one plane; column tiles do not get ranges of their own.
// - Calibrated: one range for every weight-column conversion of the layer, e.g. the extremes of
//   observed_sums over calibration inputs.
// - Inputs that break these rules (weights or inputs outside their bit range, sizes that do not match, bits
//   outside 1 to kMaxPolicyBits, a range with low > high) are the caller's bug: std::invalid_argument.

// Range of the sums one conversion sees.
struct SumRange {
  double low = 0;
  double high = 0;
};

// The ADC's transfer function: the integer value the converter reports for analog sum `sum`.
double convert(double sum, SumRange range, int adc_bits);

// Row groups a tile of `rows` rows is read in, `rows_per_read` at a time: one crossbar read per input plane
// each. The cost engines count reads and conversions with it (through LayerMapping::groups_in_tile).
std::int64_t read_groups(std::int64_t rows, std::int64_t rows_per_read);

// The noise keys of a chip in the units of the arithmetic: cell levels and column sums.
struct AnalogNoise {
  double programming_sigma = 0;  // in cell levels
  double drift_nu = 0;
  double drift_nu_std = 0;
  double drift_time_ratio = 1;  // t / t0
  double read = 0;              // fraction of a conversion's full range
  double thermal = 0;
  double shot = 0;
  double energy_per_mac = 1;  // Garg's E

  bool any() const;
  bool at_conversion() const;  // read, thermal or shot noise on the converted sums
  bool drifts() const;
  // The drift exponent of one cell, from a standard normal draw.
  double drift_nu_of(double standard_normal) const;
  // What the digital result is multiplied by to undo the mean drift (1 without drift).
  double drift_compensation() const;
};

// The noise one conversion's sum gets: variance fixed_variance + (shot_scale |g| |x|)^2.
struct ConversionNoise {
  double fixed_variance = 0;
  double shot_scale = 0;
};

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
  AnalogNoise noise;

  // Physical rows [begin, end) read together; groups never straddle a row tile. A tile of r rows holds
  // read_groups(r, rows_per_read) of them.
  struct RowGroup {
    std::int64_t begin = 0;
    std::int64_t end = 0;
  };
  std::vector<RowGroup> row_groups() const;

  // Values one plane of the input takes: [low, high].
  SumRange plane_values(int plane) const;
  // The full range of one column's sum over the rows of `group` of weight cells for `plane`. A group, not
  // a row count: under differential-row the rows' signs alternate with their index.
  SumRange full_range(const RowGroup& group, int plane) const;
  // The same for the offset mapping's reference column of unit cells.
  SumRange reference_range(const RowGroup& group, int plane) const;
  // The value the offset mapping adds to every weight: 2^(weight_bits - 1) - 1.
  std::int64_t weight_offset() const;
  // The noise of a conversion of `group` in `plane`; the reference column's like any other column's.
  ConversionNoise conversion_noise(const RowGroup& group, int plane) const;
};

// The noise of a layer at `bits` (its energy per cell read sets Garg's E). Whether a chip has noise at all
// does not depend on the bits.
AnalogNoise analog_noise(const ChipSpec& chip, const Bits& bits);

// Cells one weight of `weight_bits` bits takes: ceil(weight_bits / cell_bits).
int weight_slices(int weight_bits, int cell_bits);

// Throws ConfigError for a 1-bit converter when the layer's sums can be negative (see above). Of a layer
// with per-channel weight widths this is the arithmetic of its widest channels; channel_groups has them all.
CrossbarArithmetic crossbar_arithmetic(const ChipSpec& chip, std::int64_t fan_in, Bits bits, bool signed_input);

// Per-channel weight widths: the output channels of each width compute as a layer of their own on their
// own columns (each channel's columns take the slices of its width; under the offset mapping its cells
// hold W + 2^(w_c - 1) - 1). Decisions: under adc.range: dynamic the columns of one width share a
// conversion's range, those of another width get their own; a calibrated range is the layer's, one for
// all; the reference column is converted once per width (the same value unless noise is drawn).
struct ChannelGroup {
  CrossbarArithmetic arithmetic;
  std::vector<std::int64_t> channels;  // the output channels of this width, ascending
};

// One group per distinct width, narrowest first; a single group of every channel without per-channel
// widths. std::invalid_argument when the widths do not give one per output.
std::vector<ChannelGroup> channel_groups(const ChipSpec& chip, std::int64_t fan_in, std::int64_t outputs, const Bits& bits,
                                         bool signed_input);

// Draws of the reference's noise; the weights are programmed anew on every call.
using NoiseSource = std::mt19937_64;

// The smallest and largest raw sum over all weight columns, row groups and planes for one input vector:
// what calibration (adc.range: calibrated) collects over calibration inputs. `noise` programs the cells;
// it may be null only when the arithmetic has no noise.
SumRange observed_sums(const CrossbarArithmetic& arithmetic, const std::vector<std::int64_t>& weights,
                       std::int64_t outputs, const std::vector<std::int64_t>& input, NoiseSource* noise = nullptr);

// The chip's result for one input vector: `weights` holds outputs x fan_in integers row-major, `input`
// fan_in integers. `calibrated` is the layer's range under adc.range: calibrated (ignored otherwise).
std::vector<double> reference_product(const CrossbarArithmetic& arithmetic, const std::vector<std::int64_t>& weights,
                                      std::int64_t outputs, const std::vector<std::int64_t>& input,
                                      SumRange calibrated = {}, NoiseSource* noise = nullptr);

}  // namespace qxbar
