#include "nn/crossbar_product.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define QXBAR_WITH_AVX2_CLONE __attribute__((target_clones("avx2", "default")))
#else
#define QXBAR_WITH_AVX2_CLONE
#endif

namespace qxbar {
namespace {

using torch::indexing::Slice;

// Input rows are processed in blocks of this many, bounding the memory of a block's noise draws and of
// the sums calibration collects.
constexpr std::int64_t kRowsPerBlock = 2048;
// float32 products of integers are exact below 2^24 and many times faster than float64 ones.
constexpr double kExactFloat32 = 16777216.0;
constexpr double kExactInt16 = 32768.0;

torch::Tensor float64(const torch::Tensor& t) { return t.to(torch::kFloat64); }

// The layer as its crossbars hold it: non-negative cell magnitudes per physical column and row, and for
// every physical row the input it reads and the sign its driver applies.
struct PhysicalLayer {
  torch::Tensor cells;      // [columns, physical rows], before slicing
  torch::Tensor row_input;  // [physical rows], index into the fan-in
  torch::Tensor row_sign;   // [physical rows], +1 or -1
};

PhysicalLayer physical_layer(const CrossbarArithmetic& arithmetic, const torch::Tensor& weight) {
  const std::int64_t fan_in = weight.size(1);
  const torch::Tensor positive = weight.clamp_min(0);
  const torch::Tensor negative = (-weight).clamp_min(0);
  const torch::Tensor inputs = torch::arange(fan_in);
  switch (arithmetic.mapping) {
    case SignedMapping::Offset:
      return {weight + static_cast<double>(arithmetic.weight_offset()), inputs, torch::ones({fan_in}, torch::kFloat64)};
    case SignedMapping::DifferentialColumn:
      return {torch::cat({positive, negative}, 0), inputs, torch::ones({fan_in}, torch::kFloat64)};
    case SignedMapping::DifferentialRow:
      return {torch::stack({positive, negative}, 2).reshape({weight.size(0), 2 * fan_in}), inputs.repeat_interleave(2),
              torch::tensor({1.0, -1.0}, torch::kFloat64).repeat({fan_in})};
  }
  throw std::logic_error("unhandled signed mapping");
}

// [slices, columns, rows]: slice s of every cell (non-negative integers below 2^16), least significant first.
torch::Tensor cell_slices(const CrossbarArithmetic& arithmetic, const torch::Tensor& cells) {
  const torch::Tensor integers = cells.to(torch::kInt32);
  const std::int64_t mask = (std::int64_t{1} << arithmetic.cell_bits) - 1;
  std::vector<torch::Tensor> slices;
  for (int s = 0; s < arithmetic.slices; ++s) {
    slices.push_back(torch::bitwise_and(torch::bitwise_right_shift(integers, s * arithmetic.cell_bits), mask));
  }
  return torch::stack(slices).to(torch::kFloat64);
}

// [planes, samples, fan_in]: the levels each plane applies; a signed input's top plane keeps the sign.
torch::Tensor input_planes(const CrossbarArithmetic& arithmetic, const torch::Tensor& input) {
  // Digits by integer shifts and masks, which read the input once per plane; an arithmetic shift of a
  // two's-complement value is the floor division the signed top plane needs.
  const torch::Tensor integers = input.to(torch::kInt32);
  const std::int64_t mask = (std::int64_t{1} << arithmetic.dac_bits) - 1;
  std::vector<torch::Tensor> planes;
  for (int p = 0; p < arithmetic.planes; ++p) {
    torch::Tensor digit = torch::bitwise_right_shift(integers, p * arithmetic.dac_bits);
    if (p + 1 < arithmetic.planes) digit = torch::bitwise_and(digit, mask);
    planes.push_back(digit.to(torch::kFloat32));
  }
  return torch::stack(planes);
}

// Rounds half to even, as torch::round and the reference's std::nearbyint do, for |value| < 2^51: adding
// and subtracting 1.5 * 2^52 leaves the value rounded in the default rounding mode, without a libm call
// in the innermost loop (IEEE arithmetic, as the build keeps it: no -ffast-math).
inline double round_half_even(double value) {
  constexpr double kShifter = 6755399441055744.0;
  return (value + kShifter) - kShifter;
}

// One converter setting: codes 0..top_code of width lsb above base.
struct Converter {
  double lsb;
  double base;
  double top_code;
};

// The grid of `convert` over [low, high]: the LSB doubles from one until the codes from the grid's base
// reach the top of the range.
Converter converter_for(double low, double high, double top_code) {
  Converter converter{1, std::floor(low), top_code};
  while (converter.base + top_code * converter.lsb < high) {
    converter.lsb *= 2;
    converter.base = std::floor(low / converter.lsb) * converter.lsb;
  }
  return converter;
}

// out[c] += place * places[c] * (the converted value of sums[c]) for c < count. Written to vectorise: one
// clamp, no division (the LSB is a power of two, so multiplying by its reciprocal is exact), no aliasing.
// A level too large for round_half_even keeps its sign, so the clamp still sends it to the right end.
template <typename Sum>
void accumulate_codes(const Sum* __restrict sums, std::int64_t count, Converter converter, double place,
                      const double* __restrict places, double* __restrict out) {
  const double inverse_lsb = 1.0 / converter.lsb;
  for (std::int64_t c = 0; c < count; ++c) {
    const double level = (static_cast<double>(sums[c]) - converter.base) * inverse_lsb;
    const double code = std::clamp(round_half_even(level), 0.0, converter.top_code);
    out[c] += place * places[c] * (converter.base + code * converter.lsb);
  }
}

// The largest magnitude a sum of `group` reaches under `rule` in any plane: what decides whether float32
// holds it exactly.
double largest_sum(const CrossbarArithmetic& arithmetic, const CrossbarArithmetic::RowGroup& group,
                   SumRange (CrossbarArithmetic::*rule)(const CrossbarArithmetic::RowGroup&, int) const) {
  double largest = 0;
  for (int p = 0; p < arithmetic.planes; ++p) {
    const SumRange range = (arithmetic.*rule)(group, p);
    largest = std::max({largest, std::abs(range.low), std::abs(range.high)});
  }
  return largest;
}

// Column sums of one row group: [planes, samples, slices * columns], float32 where that is exact.
torch::Tensor group_sums(const torch::Tensor& planes, const torch::Tensor& cells, double bound) {
  if (bound < kExactFloat32) return torch::matmul(planes.to(torch::kFloat32), cells.to(torch::kFloat32).t());
  return torch::matmul(float64(planes), float64(cells).t());
}

// What the converted row groups add up to for a block of input rows: the shift-added converted sums per
// physical column [samples, columns] and, for the offset mapping, the reference column's [samples].
struct GroupResult {
  torch::Tensor columns;
  torch::Tensor reference;
};

// Cell levels as programmed (see the noise rules in sim/crossbar_arithmetic.h), drawn from torch's generator.
torch::Tensor programmed(const AnalogNoise& noise, torch::Tensor levels) {
  if (noise.programming_sigma > 0) levels = (levels + noise.programming_sigma * torch::randn_like(levels)).clamp_min(0);
  if (noise.drifts()) {
    const torch::Tensor nu = (noise.drift_nu + noise.drift_nu_std * torch::randn_like(levels)).abs();
    levels = levels * torch::pow(noise.drift_time_ratio, -nu);
  }
  return levels;
}

// The converters and noise of one plane's conversions in one row group.
struct PlaneConversion {
  Converter weights;    // the weight columns' (full or calibrated range; dynamic ranges are per sum)
  Converter reference;  // the offset mapping's reference column's (full range)
  ConversionNoise noise;
};

// sums[c] += level * row[c] for c < count, vectorised.
template <typename T>
void add_scaled(T* __restrict sums, const T* __restrict row, T level, std::int64_t count) {
  for (std::int64_t c = 0; c < count; ++c) sums[c] += level * row[c];
}

// Everything one conversion pass over one row group reads and writes, for samples [begin, end).
template <typename T>
struct GroupPass {
  const std::int32_t* inputs;  // [samples, fan_in]
  std::int64_t fan_in;
  CrossbarArithmetic::RowGroup group;
  const T* cells;  // [physical rows, width]
  std::int64_t width;  // slices * columns
  std::int64_t columns;
  const std::int64_t* row_input;
  const std::int32_t* row_sign;
  const double* reference;  // the offset mapping's reference cells, or null
  // The reference column converts exactly: it reads the sum of the inputs (the offset mapping's physical
  // rows are the inputs), one addition per row rather than one per row and plane.
  bool exact_reference;
  int planes;
  int slices;
  int dac_bits;
  bool dynamic;
  const PlaneConversion* conversions;  // per plane
  const double* plane_place;  // per plane
  const double* slice_place;  // [width]: each sum's slice's place value
  const double* draws;            // [samples, planes, width] standard normals, or null without conversion noise
  const double* reference_draws;  // [samples, planes]
  const double* levels;           // [width]: Σ of each column's squared levels over the group's rows
  double reference_levels;
  double* out;            // [samples, columns], added to
  double* reference_out;  // [samples], added to
};

// The pass for samples [begin, end): rows outside and planes inside, so each input is read and shifted once
// per row; rows whose digit is zero add nothing (most rows of the high planes and of rectified
// activations). On x86-64 compiled twice, the AVX2 version chosen where the CPU has it: the column loops
// are most of an analog evaluation's time.
template <typename T>
QXBAR_WITH_AVX2_CLONE void convert_samples(const GroupPass<T>& pass, std::int64_t begin,
                                                                        std::int64_t end) {
  const std::int64_t width = pass.width;
  const std::int32_t mask = (std::int32_t{1} << pass.dac_bits) - 1;
  // Per plane: the column sums, the reference column's sum and Σ of the driven levels squared (the shot
  // noise's |x|^2).
  std::vector<T> plane_sums(static_cast<std::size_t>(pass.planes * width));
  std::vector<double> reference_sums(static_cast<std::size_t>(pass.planes));
  std::vector<double> drives(static_cast<std::size_t>(pass.planes));
  std::vector<double> shifted(static_cast<std::size_t>(width));  // the converted values shift-added over planes
  const bool shot_noise = pass.draws != nullptr;
  for (std::int64_t m = begin; m < end; ++m) {
    const std::int32_t* x = pass.inputs + m * pass.fan_in;
    std::fill(plane_sums.begin(), plane_sums.end(), T{0});
    std::fill(shifted.begin(), shifted.end(), 0.0);
    std::fill(reference_sums.begin(), reference_sums.end(), 0.0);
    std::fill(drives.begin(), drives.end(), 0.0);
    for (std::int64_t r = pass.group.begin; r < pass.group.end; ++r) {
      const std::int32_t input = x[pass.row_input[r]];
      if (input == 0) continue;
      if (pass.exact_reference) pass.reference_out[m] += input;
      const T* row = pass.cells + r * width;
      // The planes with a nonzero digit as a bit set, visited in order without a branch per plane, which
      // random digits would mispredict half the time.
      std::array<std::int32_t, kMaxPolicyBits> digits{};
      std::uint32_t nonzero = 0;
      for (int p = 0; p < pass.planes; ++p) {
        // An arithmetic shift of a two's-complement input is the floor division the signed top plane needs.
        std::int32_t digit = input >> (p * pass.dac_bits);
        if (p + 1 < pass.planes) digit &= mask;
        digits[static_cast<std::size_t>(p)] = digit;
        nonzero |= static_cast<std::uint32_t>(digit != 0) << p;
      }
      for (; nonzero != 0; nonzero &= nonzero - 1) {
        const int p = __builtin_ctz(nonzero);
        const std::int32_t level = digits[static_cast<std::size_t>(p)] * pass.row_sign[r];
        add_scaled(plane_sums.data() + p * width, row, static_cast<T>(level), width);
        if (pass.reference != nullptr && !pass.exact_reference) {
          reference_sums[static_cast<std::size_t>(p)] += level * pass.reference[r];
        }
        if (shot_noise) drives[static_cast<std::size_t>(p)] += static_cast<double>(level) * level;
      }
    }
    for (int p = 0; p < pass.planes; ++p) {
      const PlaneConversion& conversion = pass.conversions[p];
      T* sums = plane_sums.data() + p * width;
      double& reference_sum = reference_sums[static_cast<std::size_t>(p)];
      // Sums with noise are never integers: floating point (see the sum type in Cells).
      if constexpr (std::is_floating_point_v<T>) {
        if (pass.draws != nullptr) {
          const double shot = conversion.noise.shot_scale * conversion.noise.shot_scale * drives[static_cast<std::size_t>(p)];
          const double* z = pass.draws + (m * pass.planes + p) * width;
          for (std::int64_t c = 0; c < width; ++c) {
            sums[c] += static_cast<T>(std::sqrt(conversion.noise.fixed_variance + shot * pass.levels[c]) * z[c]);
          }
          reference_sum += std::sqrt(conversion.noise.fixed_variance + shot * pass.reference_levels) *
                           pass.reference_draws[m * pass.planes + p];
        }
      }
      Converter converter = conversion.weights;
      if (pass.dynamic) {
        const auto [low, high] = std::minmax_element(sums, sums + width);
        converter = converter_for(*low, *high, converter.top_code);
      }
      accumulate_codes(sums, width, converter, pass.plane_place[p], pass.slice_place, shifted.data());
      if (pass.reference != nullptr && !pass.exact_reference) {
        const double unit = 1;
        accumulate_codes(&reference_sum, 1, conversion.reference, pass.plane_place[p], &unit, pass.reference_out + m);
      }
    }
    // Slices merge last: every value is an integer, so the order of the sums does not matter.
    double* out = pass.out + m * pass.columns;
    for (int s = 0; s < pass.slices; ++s) {
      for (std::int64_t c = 0; c < pass.columns; ++c) out[c] += shifted[static_cast<std::size_t>(s * pass.columns + c)];
    }
  }
}

}  // namespace

class ProgrammedLayer::Cells {
 public:
  Cells(const CrossbarArithmetic& arithmetic, const torch::Tensor& weight)
      : arithmetic_(arithmetic),
        physical_(physical_layer(arithmetic, float64(weight))),
        columns_(physical_.cells.size(0)),
        sum_columns_(arithmetic.slices * columns_) {
    std::vector<std::int64_t> exact_rows;
    for (const CrossbarArithmetic::RowGroup& group : arithmetic.row_groups()) {
      if (!converts_exactly(group)) {
        converted_groups_.push_back(group);
        continue;
      }
      for (std::int64_t r = group.begin; r < group.end; ++r) exact_rows.push_back(r);
    }
    if (!exact_rows.empty()) exact_weight_ = exact_weight(torch::tensor(exact_rows, torch::kInt64));
    // Only conversions read the sliced cells (noise converts every group), so a layer that converts
    // exactly throughout, reprogrammed at every training step, is spared slicing them.
    if (!converted_groups_.empty()) program_slices();
  }

  const CrossbarArithmetic& arithmetic() const { return arithmetic_; }

  // [planes, samples, physical rows] of one block of input rows.
  torch::Tensor driven_rows(const torch::Tensor& input) const {
    // Plane values have at most 16 bits: exact in float32, half the memory traffic of float64. Only
    // differential-row drives rows other than the inputs in their order.
    const torch::Tensor planes = input_planes(arithmetic_, input);
    if (arithmetic_.mapping != SignedMapping::DifferentialRow) return planes;
    return planes.index_select(2, physical_.row_input) * physical_.row_sign.to(torch::kFloat32);
  }

  // [slices * columns, group rows]: the programmed levels of every weight column on the group's rows.
  torch::Tensor group_cells(const CrossbarArithmetic::RowGroup& group) const {
    // Unsliced until now only when noiseless, so slicing here gives what programming would have.
    const torch::Tensor slices = slices_.defined() ? slices_ : cell_slices(arithmetic_, physical_.cells);
    return slices.index({Slice(), Slice(), Slice(group.begin, group.end)}).reshape({-1, group.end - group.begin});
  }

  // [planes, samples, group rows]: the group's rows of the driven `rows`.
  static torch::Tensor group_rows(const torch::Tensor& rows, const CrossbarArithmetic::RowGroup& group) {
    return rows.index({Slice(), Slice(), Slice(group.begin, group.end)});
  }

  // Column sums of the group's `planes` over its `cells` (group_rows, group_cells).
  torch::Tensor raw_sums(const torch::Tensor& planes, const torch::Tensor& cells, const CrossbarArithmetic::RowGroup& group) const {
    return group_sums(planes, cells, largest_sum(arithmetic_, group, &CrossbarArithmetic::full_range));
  }

  // True when no conversion of the group can round or clip: the full range of every plane fits the
  // converter's codes at an LSB of one, and the rule is one whose range lies within the full range.
  bool converts_exactly(const CrossbarArithmetic::RowGroup& group) const {
    if (arithmetic_.range == AdcRange::Calibrated || !reference_converts_exactly(group)) return false;
    for (int p = 0; p < arithmetic_.planes; ++p) {
      if (!fits_codes(arithmetic_.full_range(group, p))) return false;
    }
    return true;
  }

  // The same for the offset mapping's reference column alone, whose cells all hold one without noise.
  bool reference_converts_exactly(const CrossbarArithmetic::RowGroup& group) const {
    if (arithmetic_.noise.any()) return false;
    for (int p = 0; p < arithmetic_.planes; ++p) {
      if (!fits_codes(arithmetic_.reference_range(group, p))) return false;
    }
    return true;
  }

  bool fits_codes(SumRange range) const { return range.high - range.low <= std::ldexp(1.0, arithmetic_.adc_bits) - 1; }

  // What the exactly converted row groups add to the outputs of `input` [samples, fan_in]: their exact
  // partial products, one product over whole inputs instead of one per plane and slice.
  torch::Tensor exact_outputs(const torch::Tensor& input) const {
    return torch::matmul(input.to(exact_weight_.scalar_type()), exact_weight_).to(torch::kFloat64);
  }

  bool has_exact_groups() const { return exact_weight_.defined(); }
  bool has_converted_groups() const { return !converted_groups_.empty(); }

  // What the converted row groups add to the outputs of `input` [samples, fan_in]: one pass per sample,
  // plane and group that sums the driven rows' cells (rows whose digit is zero add nothing: most rows of
  // the high planes and of rectified activations), adds the conversion's noise, converts and shift-adds at
  // once, so no tensor of every conversion's sum is ever made.
  torch::Tensor converted_outputs(const torch::Tensor& input, SumRange calibrated) const {
    const std::int64_t samples = input.size(0);
    const torch::Tensor integers = input.to(torch::kInt32).contiguous();
    GroupResult result{torch::zeros({samples, columns_}, torch::kFloat64), torch::zeros({samples}, torch::kFloat64)};
    const AnalogNoise& noise = arithmetic_.noise;
    const double top_code = std::ldexp(1.0, arithmetic_.adc_bits) - 1;
    for (const CrossbarArithmetic::RowGroup& group : converted_groups_) {
      std::vector<PlaneConversion> planes;
      for (int p = 0; p < arithmetic_.planes; ++p) {
        const SumRange full = arithmetic_.full_range(group, p);
        const SumRange reference = arithmetic_.reference_range(group, p);
        const SumRange weights = arithmetic_.range == AdcRange::Calibrated ? calibrated : full;
        planes.push_back({converter_for(weights.low, weights.high, top_code),
                          converter_for(reference.low, reference.high, top_code), arithmetic_.conversion_noise(group, p)});
      }
      // Standard normal draws for every conversion of the group, from LibTorch's generator in a fixed order.
      torch::Tensor draws;
      torch::Tensor reference_draws;
      torch::Tensor levels;  // Σ over the group's rows of each column's squared level: the shot noise's |g|^2
      double reference_levels = 0;
      if (noise.at_conversion()) {
        draws = torch::randn({samples, arithmetic_.planes, sum_columns_}, torch::kFloat64);
        reference_draws = torch::randn({samples, arithmetic_.planes}, torch::kFloat64);
        const torch::Tensor rows = cells_by_row_.index({Slice(group.begin, group.end)});
        levels = rows.square().sum(0).contiguous();
        if (reference_.defined()) reference_levels = reference_.index({Slice(group.begin, group.end)}).square().sum().item<double>();
      }
      AT_DISPATCH_FLOATING_TYPES_AND(torch::kInt16, cells_by_row_.scalar_type(), "converted_outputs", [&] {
        convert_group<scalar_t>(integers, group, planes, draws, reference_draws, levels, reference_levels,
                                result);
      });
    }
    return outputs(result.columns, result.reference);
  }

  // One row group of converted_outputs, summing in T (the sum type chosen with cells_by_row_).
  template <typename T>
  void convert_group(const torch::Tensor& integers, const CrossbarArithmetic::RowGroup& group,
                     const std::vector<PlaneConversion>& planes, const torch::Tensor& draws,
                     const torch::Tensor& reference_draws, const torch::Tensor& levels, double reference_levels,
                     GroupResult& result) const {
    const GroupPass<T> pass{integers.data_ptr<std::int32_t>(),
                            integers.size(1),
                            group,
                            cells_by_row_.data_ptr<T>(),
                            sum_columns_,
                            columns_,
                            row_input_.data(),
                            row_sign_.data(),
                            reference_.defined() ? reference_.data_ptr<double>() : nullptr,
                            reference_.defined() && reference_converts_exactly(group),
                            arithmetic_.planes,
                            arithmetic_.slices,
                            arithmetic_.dac_bits,
                            arithmetic_.range == AdcRange::Dynamic,
                            planes.data(),
                            plane_place_.data(),
                            slice_place_.data(),
                            draws.defined() ? draws.data_ptr<double>() : nullptr,
                            reference_draws.defined() ? reference_draws.data_ptr<double>() : nullptr,
                            levels.defined() ? levels.data_ptr<double>() : nullptr,
                            reference_levels,
                            result.columns.data_ptr<double>(),
                            result.reference.data_ptr<double>()};
    at::parallel_for(0, integers.size(0), 8, [&](std::int64_t begin, std::int64_t end) { convert_samples(pass, begin, end); });
  }

  // The layer's outputs [samples, outputs] from the shift-added physical columns, drift compensated.
  torch::Tensor outputs(const torch::Tensor& columns, const torch::Tensor& reference) const {
    const double compensation = arithmetic_.noise.drift_compensation();
    const torch::Tensor result = signed_outputs(columns, reference);
    return compensation == 1 ? result : (result * compensation).round();
  }

 private:
  // The sliced cells as programmed (noise drawn here) and what the conversion pass reads of them.
  void program_slices() {
    slices_ = programmed(arithmetic_.noise, cell_slices(arithmetic_, physical_.cells));
    if (arithmetic_.mapping == SignedMapping::Offset) {
      reference_ = programmed(arithmetic_.noise, torch::ones({physical_.cells.size(1)}, torch::kFloat64));
    }
    for (int p = 0; p < arithmetic_.planes; ++p) plane_place_.push_back(std::ldexp(1.0, p * arithmetic_.dac_bits));
    for (int s = 0; s < arithmetic_.slices; ++s) slice_place_.insert(slice_place_.end(), columns_, std::ldexp(1.0, s * arithmetic_.cell_bits));
    const torch::Tensor row_input = physical_.row_input.contiguous();
    row_input_.assign(row_input.data_ptr<std::int64_t>(), row_input.data_ptr<std::int64_t>() + row_input.numel());
    const torch::Tensor row_sign = physical_.row_sign.to(torch::kInt32).contiguous();
    row_sign_.assign(row_sign.data_ptr<std::int32_t>(), row_sign.data_ptr<std::int32_t>() + row_sign.numel());
    // Without noise every sum is an integer within its full range, and so is every partial sum (its terms
    // lie between the range's negative and positive ends): exact in int16 below 2^15, which packs twice as
    // many sums in a vector as float32, and in float32 below 2^24.
    double largest = 0;
    for (const CrossbarArithmetic::RowGroup& group : converted_groups_) {
      largest = std::max(largest, largest_sum(arithmetic_, group, &CrossbarArithmetic::full_range));
    }
    const torch::ScalarType sum_type = arithmetic_.noise.any() || largest >= kExactFloat32 ? torch::kFloat64
                                       : largest < kExactInt16                               ? torch::kInt16
                                                                                             : torch::kFloat32;
    cells_by_row_ = slices_.reshape({sum_columns_, -1}).t().contiguous().to(sum_type);
  }

  // [fan_in, outputs]: what a unit on each input adds to the outputs through the physical `rows`. A unit
  // on one row gives its cells on the weight columns and one on the reference column, so the signed
  // outputs of those, times the row's drive sign, summed over the rows an input drives. float32 where
  // every partial sum of a product is an exact integer.
  torch::Tensor exact_weight(const torch::Tensor& rows) const {
    const torch::Tensor unit_columns = physical_.cells.index_select(1, rows).t();
    const torch::Tensor per_row = signed_outputs(unit_columns, torch::ones({rows.size(0)}, torch::kFloat64)) *
                                  physical_.row_sign.index_select(0, rows).unsqueeze(1);
    const torch::Tensor weight = torch::zeros({arithmetic_.fan_in, per_row.size(1)}, torch::kFloat64)
                                     .index_add_(0, physical_.row_input.index_select(0, rows), per_row);
    const double bound = weight.abs().sum(0).max().item<double>() * std::ldexp(1.0, arithmetic_.input_bits);
    return bound < kExactFloat32 ? weight.to(torch::kFloat32) : weight;
  }

  torch::Tensor signed_outputs(const torch::Tensor& columns, const torch::Tensor& reference) const {
    switch (arithmetic_.mapping) {
      case SignedMapping::Offset:
        return columns - static_cast<double>(arithmetic_.weight_offset()) * reference.unsqueeze(1);
      case SignedMapping::DifferentialColumn: {
        const std::int64_t outputs = columns_ / 2;
        return columns.index({Slice(), Slice(0, outputs)}) - columns.index({Slice(), Slice(outputs, columns_)});
      }
      case SignedMapping::DifferentialRow:
        return columns;
    }
    throw std::logic_error("unhandled signed mapping");
  }

  const CrossbarArithmetic arithmetic_;
  PhysicalLayer physical_;
  torch::Tensor slices_;     // [slices, columns, physical rows], programmed
  torch::Tensor reference_;  // [physical rows]: the offset mapping's reference column, programmed
  const std::int64_t columns_;
  const std::int64_t sum_columns_;  // slices * columns: the sums of one conversion pass
  torch::Tensor cells_by_row_;        // [physical rows, slices * columns], programmed
  std::vector<std::int64_t> row_input_;
  std::vector<std::int32_t> row_sign_;
  std::vector<double> plane_place_;
  std::vector<double> slice_place_;  // [slices * columns]
  std::vector<CrossbarArithmetic::RowGroup> converted_groups_;  // the groups whose conversions can round or clip
  torch::Tensor exact_weight_;  // see exact_weight; undefined when every group converts
};

namespace {

void check_operands(const CrossbarArithmetic& arithmetic, const torch::Tensor& input) {
  if (input.dim() != 2 || input.size(1) != arithmetic.fan_in) {
    throw std::invalid_argument("crossbar product: the input must be [samples, fan_in] with fan_in " +
                                std::to_string(arithmetic.fan_in));
  }
}

}  // namespace

ProgrammedLayer::ProgrammedLayer(const CrossbarArithmetic& arithmetic, const torch::Tensor& integer_weight) {
  if (integer_weight.dim() != 2 || integer_weight.size(1) != arithmetic.fan_in) {
    throw std::invalid_argument("crossbar product: the weights must be [outputs, fan_in] with fan_in " +
                                std::to_string(arithmetic.fan_in));
  }
  const torch::NoGradGuard no_grad;
  cells_ = std::make_shared<const Cells>(arithmetic, integer_weight);
}

const CrossbarArithmetic& ProgrammedLayer::arithmetic() const { return cells_->arithmetic(); }

torch::Tensor ProgrammedLayer::product(const torch::Tensor& integer_input, SumRange calibrated) const {
  check_operands(cells_->arithmetic(), integer_input);
  const torch::NoGradGuard no_grad;
  torch::Tensor result = cells_->has_exact_groups() ? cells_->exact_outputs(integer_input) : torch::Tensor();
  if (!cells_->has_converted_groups()) return result;
  std::vector<torch::Tensor> blocks;
  for (std::int64_t begin = 0; begin < integer_input.size(0); begin += kRowsPerBlock) {
    blocks.push_back(cells_->converted_outputs(integer_input.index({Slice(begin, begin + kRowsPerBlock)}), calibrated));
  }
  const torch::Tensor converted = torch::cat(blocks);
  return result.defined() ? result + converted : converted;
}

SumRange ProgrammedLayer::sum_range(const torch::Tensor& integer_input) const {
  const CrossbarArithmetic& arithmetic = cells_->arithmetic();
  check_operands(arithmetic, integer_input);
  const torch::NoGradGuard no_grad;
  SumRange range{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (std::int64_t begin = 0; begin < integer_input.size(0); begin += kRowsPerBlock) {
    const torch::Tensor rows = cells_->driven_rows(integer_input.index({Slice(begin, begin + kRowsPerBlock)}));
    for (const CrossbarArithmetic::RowGroup& group : arithmetic.row_groups()) {
      const torch::Tensor sums = cells_->raw_sums(Cells::group_rows(rows, group), cells_->group_cells(group), group);
      range.low = std::min(range.low, sums.min().item<double>());
      range.high = std::max(range.high, sums.max().item<double>());
    }
  }
  return range;
}

ProgrammedChannels::ProgrammedChannels(const std::vector<ChannelGroup>& groups, const torch::Tensor& integer_weight)
    : outputs_(integer_weight.size(0)) {
  if (groups.empty()) throw std::invalid_argument("crossbar product: a layer needs at least one channel group");
  const torch::NoGradGuard no_grad;
  for (const ChannelGroup& group : groups) {
    torch::Tensor channels = torch::tensor(group.channels, torch::kInt64);
    const bool every = static_cast<std::int64_t>(group.channels.size()) == outputs_;
    widths_.push_back({channels, ProgrammedLayer(group.arithmetic, every ? integer_weight : integer_weight.index_select(0, channels))});
  }
}

torch::Tensor ProgrammedChannels::product(const torch::Tensor& integer_input, SumRange calibrated) const {
  if (widths_.size() == 1) return widths_.front().layer.product(integer_input, calibrated);
  const torch::NoGradGuard no_grad;
  torch::Tensor result = torch::empty({integer_input.size(0), outputs_}, torch::kFloat64);
  for (const Width& width : widths_) result.index_copy_(1, width.channels, width.layer.product(integer_input, calibrated));
  return result;
}

SumRange ProgrammedChannels::sum_range(const torch::Tensor& integer_input) const {
  SumRange range{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  for (const Width& width : widths_) {
    const SumRange seen = width.layer.sum_range(integer_input);
    range = {std::min(range.low, seen.low), std::max(range.high, seen.high)};
  }
  return range;
}

AdcRange ProgrammedChannels::range() const { return widths_.front().layer.arithmetic().range; }

torch::Tensor crossbar_product(const CrossbarArithmetic& arithmetic, const torch::Tensor& integer_input,
                               const torch::Tensor& integer_weight, SumRange calibrated) {
  return ProgrammedLayer(arithmetic, integer_weight).product(integer_input, calibrated);
}

}  // namespace qxbar
