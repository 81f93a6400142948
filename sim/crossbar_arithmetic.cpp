#include "sim/crossbar_arithmetic.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <stdexcept>
#include <string>

#include "sim/energy.h"

namespace qxbar {
namespace {

void require(bool condition, const std::string& what) {
  if (!condition) throw std::invalid_argument(what);
}

std::int64_t power_of_two(int exponent) { return std::int64_t{1} << exponent; }

// Drift is measured from this long after programming (aihwkit's t0).
constexpr double kDriftReferenceSeconds = 20.0;

// floor(value / 2^shift), which >> only guarantees for non-negative values before C++20.
std::int64_t floor_shift(std::int64_t value, int shift) {
  return value >= 0 ? value >> shift : -((-value - 1) >> shift) - 1;
}

// Digit `plane` of input `value`: the unsigned dac_bits-bit digit, or for the most significant plane all
// the bits that remain, signed when the input is.
std::int64_t plane_digit(const CrossbarArithmetic& arithmetic, std::int64_t value, int plane) {
  const std::int64_t shifted = floor_shift(value, plane * arithmetic.dac_bits);
  if (plane == arithmetic.planes - 1) return shifted;
  return shifted - floor_shift(shifted, arithmetic.dac_bits) * power_of_two(arithmetic.dac_bits);
}

// The values of one layer for one input vector, checked against the arithmetic's bit widths.
class LayerValues {
 public:
  LayerValues(const CrossbarArithmetic& arithmetic, const std::vector<std::int64_t>& weights, std::int64_t outputs,
              const std::vector<std::int64_t>& input, NoiseSource* noise)
      : arithmetic_(arithmetic), weights_(weights), outputs_(outputs), input_(input), noise_(noise) {
    require(noise != nullptr || !arithmetic.noise.any(), "a noisy arithmetic needs a noise source");
    require(outputs >= 1, "a layer needs at least one output");
    require(static_cast<std::int64_t>(input.size()) == arithmetic.fan_in,
            "input has " + std::to_string(input.size()) + " values, fan-in is " + std::to_string(arithmetic.fan_in));
    require(static_cast<std::int64_t>(weights.size()) == outputs * arithmetic.fan_in,
            "weights hold " + std::to_string(weights.size()) + " values, not outputs x fan-in = " +
                std::to_string(outputs * arithmetic.fan_in));
    const std::int64_t weight_limit = arithmetic.weight_offset();
    for (const std::int64_t weight : weights) {
      require(weight >= -weight_limit && weight <= weight_limit,
              "weight " + std::to_string(weight) + " is outside the " + std::to_string(arithmetic.weight_bits) +
                  "-bit range [-" + std::to_string(weight_limit) + ", " + std::to_string(weight_limit) + "]");
    }
    const std::int64_t low = arithmetic.signed_input ? -power_of_two(arithmetic.input_bits - 1) : 0;
    const std::int64_t high =
        (arithmetic.signed_input ? power_of_two(arithmetic.input_bits - 1) : power_of_two(arithmetic.input_bits)) - 1;
    for (const std::int64_t value : input) {
      require(value >= low && value <= high, "input " + std::to_string(value) + " is outside the " +
                                                 std::string(arithmetic.signed_input ? "signed " : "unsigned ") +
                                                 std::to_string(arithmetic.input_bits) + "-bit range");
    }
    program();
  }

  // Columns per output and slice: one, or W+ and W- under differential-column.
  int columns() const { return arithmetic_.mapping == SignedMapping::DifferentialColumn ? 2 : 1; }
  std::int64_t outputs() const { return outputs_; }

  // Weight columns, indexed ((output * slices) + slice) * columns() + column, column 0 holding W+ (or the
  // only column) and column 1 W-.
  std::size_t weight_columns() const { return static_cast<std::size_t>(outputs_ * arithmetic_.slices * columns()); }

  // Raw sum of every weight column over `group` in `plane`, without conversion noise.
  std::vector<double> column_sums(const CrossbarArithmetic::RowGroup& group, int plane) const {
    std::vector<double> sums(weight_columns(), 0.0);
    for (std::int64_t row = group.begin; row < group.end; ++row) {
      const auto drive = static_cast<double>(row_drive(row, plane));
      if (drive == 0) continue;
      for (std::size_t column = 0; column < sums.size(); ++column) sums[column] += level(column, row) * drive;
    }
    return sums;
  }

  // The offset mapping's reference column of unit cells.
  double reference_sum(const CrossbarArithmetic::RowGroup& group, int plane) const {
    double sum = 0;
    for (std::int64_t row = group.begin; row < group.end; ++row) {
      sum += reference_levels_[static_cast<std::size_t>(row)] * static_cast<double>(row_drive(row, plane));
    }
    return sum;
  }

  // `sum` of weight column `column` (or of the reference column when `column` is npos) with the noise of
  // one conversion.
  double with_conversion_noise(double sum, std::size_t column, const CrossbarArithmetic::RowGroup& group, int plane) {
    const ConversionNoise noise = arithmetic_.conversion_noise(group, plane);
    double variance = noise.fixed_variance;
    if (noise.shot_scale > 0) {
      double levels = 0;
      double drives = 0;
      for (std::int64_t row = group.begin; row < group.end; ++row) {
        const double g = column == kReferenceColumn ? reference_levels_[static_cast<std::size_t>(row)] : level(column, row);
        const auto x = static_cast<double>(row_drive(row, plane));
        levels += g * g;
        drives += x * x;
      }
      variance += noise.shot_scale * noise.shot_scale * levels * drives;
    }
    if (variance == 0) return sum;
    return sum + std::sqrt(variance) * standard_normal_(*noise_);
  }

  static constexpr std::size_t kReferenceColumn = static_cast<std::size_t>(-1);

 private:
  double level(std::size_t column, std::int64_t row) const {
    return levels_[column * static_cast<std::size_t>(arithmetic_.physical_rows) + static_cast<std::size_t>(row)];
  }

  // The cells as programmed: the stored levels, with programming noise and drift where the chip has them.
  void program() {
    levels_.reserve(weight_columns() * static_cast<std::size_t>(arithmetic_.physical_rows));
    for (std::int64_t output = 0; output < outputs_; ++output) {
      for (int slice = 0; slice < arithmetic_.slices; ++slice) {
        for (int column = 0; column < columns(); ++column) {
          for (std::int64_t row = 0; row < arithmetic_.physical_rows; ++row) {
            levels_.push_back(programmed(static_cast<double>(cell(output, column, slice, row))));
          }
        }
      }
    }
    if (arithmetic_.mapping != SignedMapping::Offset) return;
    for (std::int64_t row = 0; row < arithmetic_.physical_rows; ++row) reference_levels_.push_back(programmed(1.0));
  }

  double programmed(double stored) {
    const AnalogNoise& noise = arithmetic_.noise;
    double level = stored;
    if (noise.programming_sigma > 0) level = std::max(0.0, level + noise.programming_sigma * standard_normal_(*noise_));
    if (noise.drifts()) level *= std::pow(noise.drift_time_ratio, -noise.drift_nu_of(standard_normal_(*noise_)));
    return level;
  }

  std::int64_t weight(std::int64_t output, std::int64_t input) const {
    return weights_[static_cast<std::size_t>(output * arithmetic_.fan_in + input)];
  }

  // What physical row `row` is driven with in `plane`.
  std::int64_t row_drive(std::int64_t row, int plane) const {
    if (arithmetic_.mapping != SignedMapping::DifferentialRow) {
      return plane_digit(arithmetic_, input_[static_cast<std::size_t>(row)], plane);
    }
    const std::int64_t digit = plane_digit(arithmetic_, input_[static_cast<std::size_t>(row / 2)], plane);
    return row % 2 == 0 ? digit : -digit;
  }

  // The cell of `column` of `output`'s slice `slice` on physical row `row`.
  std::int64_t cell(std::int64_t output, int column, int slice, std::int64_t row) const {
    std::int64_t stored = 0;
    switch (arithmetic_.mapping) {
      case SignedMapping::Offset:
        stored = weight(output, row) + arithmetic_.weight_offset();
        break;
      case SignedMapping::DifferentialColumn:
        stored = std::max<std::int64_t>(column == 0 ? weight(output, row) : -weight(output, row), 0);
        break;
      case SignedMapping::DifferentialRow:
        stored = std::max<std::int64_t>(row % 2 == 0 ? weight(output, row / 2) : -weight(output, row / 2), 0);
        break;
    }
    return (stored >> (slice * arithmetic_.cell_bits)) % power_of_two(arithmetic_.cell_bits);
  }

  const CrossbarArithmetic& arithmetic_;
  const std::vector<std::int64_t>& weights_;
  std::int64_t outputs_;
  const std::vector<std::int64_t>& input_;
  NoiseSource* noise_;
  std::normal_distribution<double> standard_normal_;
  std::vector<double> levels_;
  std::vector<double> reference_levels_;
};

// Sums of products of a cell in [0, cell_max] and a drive in [low, high], over `rows` rows.
SumRange cell_times_drive(std::int64_t rows, double cell_max, double low, double high) {
  return {static_cast<double>(rows) * std::min(0.0, cell_max * low),
          static_cast<double>(rows) * std::max(0.0, cell_max * high)};
}

}  // namespace

double convert(double sum, SumRange range, int adc_bits) {
  require(adc_bits >= 1 && adc_bits <= 52, "ADC bits must be 1 to 52, got " + std::to_string(adc_bits));
  require(std::isfinite(sum) && std::isfinite(range.low) && std::isfinite(range.high), "sums must be finite");
  require(range.low <= range.high, "conversion range is empty: low > high");
  require(!(adc_bits == 1 && range.low < 0 && range.high > 0),
          "a 1-bit converter cannot span a range holding both signs");
  const double top_code = std::ldexp(1.0, adc_bits) - 1;
  double lsb = 1;
  double base = std::floor(range.low);
  while (base + top_code * lsb < range.high) {
    lsb *= 2;
    base = std::floor(range.low / lsb) * lsb;
  }
  const double code = std::clamp(std::nearbyint((sum - base) / lsb), 0.0, top_code);
  return base + code * lsb;
}

std::int64_t read_groups(std::int64_t rows, std::int64_t rows_per_read) {
  return (rows + rows_per_read - 1) / rows_per_read;
}

std::vector<CrossbarArithmetic::RowGroup> CrossbarArithmetic::row_groups() const {
  std::vector<RowGroup> groups;
  for (std::int64_t tile = 0; tile < physical_rows; tile += crossbar_rows) {
    const std::int64_t tile_end = std::min(tile + crossbar_rows, physical_rows);
    for (std::int64_t begin = tile; begin < tile_end; begin += rows_per_read) {
      groups.push_back({begin, std::min(begin + rows_per_read, tile_end)});
    }
  }
  return groups;
}

SumRange CrossbarArithmetic::plane_values(int plane) const {
  if (plane < planes - 1) return {0, static_cast<double>(power_of_two(dac_bits) - 1)};
  const int bits = input_bits - (planes - 1) * dac_bits;
  if (!signed_input) return {0, static_cast<double>(power_of_two(bits) - 1)};
  return {-static_cast<double>(power_of_two(bits - 1)), static_cast<double>(power_of_two(bits - 1) - 1)};
}

SumRange CrossbarArithmetic::full_range(const RowGroup& group, int plane) const {
  const auto cell_max = static_cast<double>(power_of_two(cell_bits) - 1);
  const SumRange values = plane_values(plane);
  const std::int64_t rows = group.end - group.begin;
  if (mapping != SignedMapping::DifferentialRow) return cell_times_drive(rows, cell_max, values.low, values.high);
  const std::int64_t driven_positive = (group.end + 1) / 2 - (group.begin + 1) / 2;  // even rows
  const SumRange positive = cell_times_drive(driven_positive, cell_max, values.low, values.high);
  const SumRange negative = cell_times_drive(rows - driven_positive, cell_max, -values.high, -values.low);
  return {positive.low + negative.low, positive.high + negative.high};
}

SumRange CrossbarArithmetic::reference_range(const RowGroup& group, int plane) const {
  const SumRange values = plane_values(plane);
  const auto rows = static_cast<double>(group.end - group.begin);
  return {rows * values.low, rows * values.high};
}

std::int64_t CrossbarArithmetic::weight_offset() const { return power_of_two(weight_bits - 1) - 1; }

ConversionNoise CrossbarArithmetic::conversion_noise(const RowGroup& group, int plane) const {
  const SumRange full = full_range(group, plane);
  const SumRange values = plane_values(plane);
  const auto rows = static_cast<double>(group.end - group.begin);
  const double read_sigma = noise.read * (full.high - full.low);
  const double thermal_sigma = noise.thermal * std::sqrt(rows / noise.energy_per_mac) *
                               static_cast<double>(power_of_two(cell_bits) - 1) *
                               std::max(std::abs(values.low), std::abs(values.high));
  return {read_sigma * read_sigma + thermal_sigma * thermal_sigma, noise.shot / std::sqrt(rows * noise.energy_per_mac)};
}

bool AnalogNoise::any() const { return programming_sigma > 0 || drifts() || at_conversion(); }

bool AnalogNoise::at_conversion() const { return read > 0 || thermal > 0 || shot > 0; }

bool AnalogNoise::drifts() const { return drift_time_ratio > 1 && (drift_nu > 0 || drift_nu_std > 0); }

double AnalogNoise::drift_nu_of(double standard_normal) const { return std::abs(drift_nu + drift_nu_std * standard_normal); }

double AnalogNoise::drift_compensation() const { return drifts() ? std::pow(drift_time_ratio, drift_nu) : 1.0; }

AnalogNoise analog_noise(const ChipSpec& chip, const Bits& bits) {
  return {chip.noise.programming * static_cast<double>(power_of_two(chip.crossbar.cell_bits) - 1),
          chip.noise.drift_nu,
          chip.noise.drift_nu_std,
          chip.noise.read_time_s / kDriftReferenceSeconds,
          chip.noise.read,
          chip.noise.thermal,
          chip.noise.shot,
          read_energy_fj_per_cell(chip, bits) / chip.noise.unit_energy_fj};
}

int weight_slices(int weight_bits, int cell_bits) { return (weight_bits + cell_bits - 1) / cell_bits; }

std::vector<ChannelGroup> channel_groups(const ChipSpec& chip, std::int64_t fan_in, std::int64_t outputs, const Bits& bits,
                                         bool signed_input) {
  if (!bits.is_per_channel()) {
    std::vector<std::int64_t> every(static_cast<std::size_t>(outputs));
    std::iota(every.begin(), every.end(), std::int64_t{0});
    return {{crossbar_arithmetic(chip, fan_in, bits, signed_input), std::move(every)}};
  }
  require(static_cast<std::int64_t>(bits.channel_w.size()) == outputs,
          "per-channel widths for " + std::to_string(bits.channel_w.size()) + " channels, the layer has " +
              std::to_string(outputs));
  std::map<int, std::vector<std::int64_t>> by_width;
  for (std::size_t c = 0; c < bits.channel_w.size(); ++c) by_width[bits.channel_w[c]].push_back(static_cast<std::int64_t>(c));
  std::vector<ChannelGroup> groups;
  for (auto& [width, channels] : by_width) {
    groups.push_back({crossbar_arithmetic(chip, fan_in, Bits{width, bits.a, bits.read_energy_fj_per_cell}, signed_input),
                      std::move(channels)});
  }
  return groups;
}

CrossbarArithmetic crossbar_arithmetic(const ChipSpec& chip, std::int64_t fan_in, Bits bits, bool signed_input) {
  require(fan_in >= 1, "a layer needs at least one input, got fan-in " + std::to_string(fan_in));
  for (const int value : {bits.w, bits.a}) {
    require(value >= 1 && value <= kMaxPolicyBits,
            "bits must be 1 to " + std::to_string(kMaxPolicyBits) + ", got " + std::to_string(value));
  }
  CrossbarArithmetic arithmetic;
  arithmetic.mapping = chip.mapping;
  arithmetic.weight_bits = bits.w;
  arithmetic.input_bits = bits.a;
  arithmetic.signed_input = signed_input;
  arithmetic.cell_bits = chip.crossbar.cell_bits;
  arithmetic.slices = weight_slices(bits.w, chip.crossbar.cell_bits);
  arithmetic.dac_bits = chip.dac.bits;
  arithmetic.planes = (bits.a + chip.dac.bits - 1) / chip.dac.bits;
  arithmetic.adc_bits = chip.adc.bits;
  arithmetic.range = chip.adc.range;
  arithmetic.fan_in = fan_in;
  arithmetic.physical_rows = chip.mapping == SignedMapping::DifferentialRow ? 2 * fan_in : fan_in;
  arithmetic.crossbar_rows = chip.crossbar.rows;
  arithmetic.rows_per_read = chip.crossbar.rows_per_read;
  arithmetic.noise = analog_noise(chip, bits);
  if (arithmetic.adc_bits == 1 && (arithmetic.signed_input || arithmetic.mapping == SignedMapping::DifferentialRow)) {
    throw ConfigError("adc.bits: a 1-bit converter cannot span column sums of both signs, which " +
                      std::string(arithmetic.signed_input ? "signed inputs" : "mapping: differential-row") +
                      " produce");
  }
  return arithmetic;
}

SumRange observed_sums(const CrossbarArithmetic& arithmetic, const std::vector<std::int64_t>& weights,
                       std::int64_t outputs, const std::vector<std::int64_t>& input, NoiseSource* noise) {
  const LayerValues layer(arithmetic, weights, outputs, input, noise);
  bool first = true;
  SumRange observed;
  for (const CrossbarArithmetic::RowGroup& group : arithmetic.row_groups()) {
    for (int plane = 0; plane < arithmetic.planes; ++plane) {
      for (const double value : layer.column_sums(group, plane)) {
        observed = first ? SumRange{value, value}
                         : SumRange{std::min(observed.low, value), std::max(observed.high, value)};
        first = false;
      }
    }
  }
  return observed;
}

std::vector<double> reference_product(const CrossbarArithmetic& arithmetic, const std::vector<std::int64_t>& weights,
                                      std::int64_t outputs, const std::vector<std::int64_t>& input,
                                      SumRange calibrated, NoiseSource* noise) {
  LayerValues layer(arithmetic, weights, outputs, input, noise);
  std::vector<double> result(static_cast<std::size_t>(outputs), 0.0);
  for (const CrossbarArithmetic::RowGroup& group : arithmetic.row_groups()) {
    for (int plane = 0; plane < arithmetic.planes; ++plane) {
      const int plane_shift = plane * arithmetic.dac_bits;
      std::vector<double> sums = layer.column_sums(group, plane);
      for (std::size_t column = 0; column < sums.size(); ++column) {
        sums[column] = layer.with_conversion_noise(sums[column], column, group, plane);
      }
      SumRange range = calibrated;
      if (arithmetic.range == AdcRange::Full) {
        range = arithmetic.full_range(group, plane);
      } else if (arithmetic.range == AdcRange::Dynamic) {
        const auto [low, high] = std::minmax_element(sums.begin(), sums.end());
        range = {*low, *high};
      }
      std::size_t index = 0;
      for (std::int64_t output = 0; output < outputs; ++output) {
        for (int slice = 0; slice < arithmetic.slices; ++slice) {
          for (int column = 0; column < layer.columns(); ++column) {
            const double value = convert(sums[index++], range, arithmetic.adc_bits);
            const double place = std::ldexp(value, slice * arithmetic.cell_bits + plane_shift);
            result[static_cast<std::size_t>(output)] += column == 0 ? place : -place;
          }
        }
      }
      if (arithmetic.mapping == SignedMapping::Offset) {
        const double reference_sum = layer.with_conversion_noise(layer.reference_sum(group, plane),
                                                                 LayerValues::kReferenceColumn, group, plane);
        const double reference = convert(reference_sum, arithmetic.reference_range(group, plane), arithmetic.adc_bits);
        const double subtracted = std::ldexp(reference * static_cast<double>(arithmetic.weight_offset()), plane_shift);
        for (double& value : result) value -= subtracted;
      }
    }
  }
  const double compensation = arithmetic.noise.drift_compensation();
  if (compensation != 1) {
    for (double& value : result) value = std::nearbyint(value * compensation);
  }
  return result;
}

}  // namespace qxbar
