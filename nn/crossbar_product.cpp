#include "nn/crossbar_product.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace qxbar {
namespace {

using torch::indexing::Slice;

// Input rows are processed in blocks of this many, bounding the memory of the converted partial sums.
constexpr std::int64_t kRowsPerBlock = 2048;
// float32 products of integers are exact below 2^24 and many times faster than float64 ones.
constexpr double kExactFloat32 = 16777216.0;

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

// [slices, columns, rows]: slice s of every cell, least significant first.
torch::Tensor cell_slices(const CrossbarArithmetic& arithmetic, const torch::Tensor& cells) {
  const double base = std::ldexp(1.0, arithmetic.cell_bits);
  std::vector<torch::Tensor> slices;
  for (int s = 0; s < arithmetic.slices; ++s) {
    const torch::Tensor shifted = torch::floor(cells / std::ldexp(1.0, s * arithmetic.cell_bits));
    slices.push_back(shifted - torch::floor(shifted / base) * base);
  }
  return torch::stack(slices);
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

// The grid of `convert` for broadcastable ranges: the LSB doubles from one until the codes from the grid's
// base reach the top of the range.
struct ConverterGrid {
  torch::Tensor lsb;
  torch::Tensor base;
};

ConverterGrid converter_grid(const torch::Tensor& low, const torch::Tensor& high, double top_code) {
  ConverterGrid grid{torch::ones_like(low), torch::floor(low)};
  for (torch::Tensor short_of_top = grid.base + top_code * grid.lsb < high; short_of_top.any().item<bool>();
       short_of_top = grid.base + top_code * grid.lsb < high) {
    grid.lsb = torch::where(short_of_top, grid.lsb * 2, grid.lsb);
    grid.base = torch::floor(low / grid.lsb) * grid.lsb;
  }
  return grid;
}

torch::Tensor convert_sums(const torch::Tensor& sums, const torch::Tensor& low, const torch::Tensor& high, int adc_bits) {
  const double top_code = std::ldexp(1.0, adc_bits) - 1;
  const ConverterGrid grid = converter_grid(low, high, top_code);
  return (sums - grid.base).div_(grid.lsb).round_().clamp_(0, top_code).mul_(grid.lsb).add_(grid.base);
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

// out[c] += place * (the converted value of sums[c]) for c < count. Written to vectorise: one clamp, no
// division (the LSB is a power of two, so multiplying by its reciprocal is exact), no aliasing. A level
// too large for round_half_even keeps its sign, so the clamp still sends it to the right end.
template <typename Sum>
void accumulate_codes(const Sum* __restrict sums, std::int64_t count, Converter converter, double place,
                      double* __restrict out) {
  const double inverse_lsb = 1.0 / converter.lsb;
  for (std::int64_t c = 0; c < count; ++c) {
    const double level = (static_cast<double>(sums[c]) - converter.base) * inverse_lsb;
    const double code = std::clamp(round_half_even(level), 0.0, converter.top_code);
    out[c] += place * (converter.base + code * converter.lsb);
  }
}

torch::Tensor range_tensor(const std::vector<SumRange>& ranges, double SumRange::*bound) {
  std::vector<double> values;
  for (const SumRange& range : ranges) values.push_back(range.*bound);
  return torch::tensor(values, torch::kFloat64);
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

// The per-plane full ranges of one row group as [planes, 1, 1] tensors.
std::pair<torch::Tensor, torch::Tensor> plane_ranges(const CrossbarArithmetic& arithmetic, const CrossbarArithmetic::RowGroup& group,
                                                     SumRange (CrossbarArithmetic::*rule)(const CrossbarArithmetic::RowGroup&, int) const) {
  std::vector<SumRange> ranges;
  for (int p = 0; p < arithmetic.planes; ++p) ranges.push_back((arithmetic.*rule)(group, p));
  return {range_tensor(ranges, &SumRange::low).view({-1, 1, 1}), range_tensor(ranges, &SumRange::high).view({-1, 1, 1})};
}

// Column sums of one row group: [planes, samples, slices * columns], float32 where that is exact.
torch::Tensor group_sums(const torch::Tensor& planes, const torch::Tensor& cells, double bound) {
  if (bound < kExactFloat32) return torch::matmul(planes.to(torch::kFloat32), cells.to(torch::kFloat32).t());
  return torch::matmul(float64(planes), float64(cells).t());
}

// What one row group of one block of input rows contributes: the shift-added converted sums per physical
// column [samples, columns] and, for the offset mapping, the reference column's [samples].
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

}  // namespace

class ProgrammedLayer::Cells {
 public:
  Cells(const CrossbarArithmetic& arithmetic, const torch::Tensor& weight)
      : arithmetic_(arithmetic), physical_(physical_layer(arithmetic, float64(weight))) {
    slices_ = programmed(arithmetic.noise, cell_slices(arithmetic, physical_.cells));
    if (arithmetic.mapping == SignedMapping::Offset) {
      reference_ = programmed(arithmetic.noise, torch::ones({physical_.cells.size(1)}, torch::kFloat64));
    }
    columns_ = physical_.cells.size(0);
    std::vector<double> plane_places;
    for (int p = 0; p < arithmetic.planes; ++p) plane_places.push_back(std::ldexp(1.0, p * arithmetic.dac_bits));
    plane_place_ = torch::tensor(plane_places, torch::kFloat64);
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
    return slices_.index({Slice(), Slice(), Slice(group.begin, group.end)}).reshape({-1, group.end - group.begin});
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
    if (arithmetic_.range == AdcRange::Calibrated || arithmetic_.noise.any()) return false;
    const double codes = std::ldexp(1.0, arithmetic_.adc_bits) - 1;
    for (int p = 0; p < arithmetic_.planes; ++p) {
      const SumRange full = arithmetic_.full_range(group, p);
      const SumRange reference = arithmetic_.reference_range(group, p);
      if (full.high - full.low > codes || reference.high - reference.low > codes) return false;
    }
    return true;
  }

  // An exactly converted group contributes its exact partial products: one product over whole inputs
  // instead of one per plane and slice.
  GroupResult exact_group(const torch::Tensor& input, const CrossbarArithmetic::RowGroup& group) const {
    const Slice rows(group.begin, group.end);
    const torch::Tensor driven =
        arithmetic_.mapping == SignedMapping::DifferentialRow
            ? float64(input).index_select(1, physical_.row_input.index({rows})) * physical_.row_sign.index({rows})
            : float64(input.index({Slice(), rows}));
    const torch::Tensor cells = physical_.cells.index({Slice(), Slice(group.begin, group.end)});
    const double bound = static_cast<double>(group.end - group.begin) * cells.abs().max().item<double>() *
                         std::ldexp(1.0, arithmetic_.input_bits);
    GroupResult result{float64(group_sums(driven, cells, bound)), {}};
    if (arithmetic_.mapping == SignedMapping::Offset) result.reference = driven.sum(-1);
    return result;
  }

  // Adds the noise of one conversion to every sum of `sums` [planes, samples, columns] over `cells`
  // [columns, group rows] driven by `planes` [planes, samples, group rows], in place.
  void add_conversion_noise_(torch::Tensor& sums, const torch::Tensor& planes, const torch::Tensor& cells,
                             const CrossbarArithmetic::RowGroup& group) const {
    if (!arithmetic_.noise.at_conversion()) return;
    std::vector<double> fixed_variance;
    std::vector<double> shot_scale;
    for (int p = 0; p < arithmetic_.planes; ++p) {
      const ConversionNoise noise = arithmetic_.conversion_noise(group, p);
      fixed_variance.push_back(noise.fixed_variance);
      shot_scale.push_back(noise.shot_scale);
    }
    torch::Tensor variance = torch::tensor(fixed_variance, torch::kFloat64).view({-1, 1, 1});
    if (arithmetic_.noise.shot > 0) {
      const torch::Tensor scale = torch::tensor(shot_scale, torch::kFloat64).view({-1, 1, 1});
      const torch::Tensor drives = float64(planes).square().sum(-1, true);
      const torch::Tensor levels = float64(cells).square().sum(-1).view({1, 1, -1});
      variance = variance + scale.square() * drives * levels;
    }
    sums.add_(variance.sqrt() * torch::randn(sums.sizes(), sums.options().dtype(torch::kFloat64)));
  }

  GroupResult convert_group(const torch::Tensor& rows, const CrossbarArithmetic::RowGroup& group, SumRange calibrated) const {
    const torch::Tensor planes = group_rows(rows, group);
    const torch::Tensor cells = group_cells(group);
    torch::Tensor sums = raw_sums(planes, cells, group);
    add_conversion_noise_(sums, planes, cells, group);
    torch::Tensor low;
    torch::Tensor high;
    switch (arithmetic_.range) {
      case AdcRange::Full:
        std::tie(low, high) = plane_ranges(arithmetic_, group, &CrossbarArithmetic::full_range);
        break;
      case AdcRange::Calibrated:
        low = torch::tensor(calibrated.low, torch::kFloat64);
        high = torch::tensor(calibrated.high, torch::kFloat64);
        break;
      case AdcRange::Dynamic:
        low = float64(sums.amin(-1, true));
        high = float64(sums.amax(-1, true));
        break;
    }
    const double top_code = std::ldexp(1.0, arithmetic_.adc_bits) - 1;
    GroupResult result{convert_and_shift_add(sums, converter_grid(low, high, top_code), top_code), {}};
    if (arithmetic_.mapping == SignedMapping::Offset) {
      const torch::Tensor reference_cells = reference_.index({Slice(group.begin, group.end)}).view({1, -1});
      const double bound = largest_sum(arithmetic_, group, &CrossbarArithmetic::reference_range) *
                           reference_cells.max().item<double>();
      torch::Tensor reference_sums = group_sums(planes, reference_cells, bound);
      add_conversion_noise_(reference_sums, planes, reference_cells, group);
      const auto [reference_low, reference_high] = plane_ranges(arithmetic_, group, &CrossbarArithmetic::reference_range);
      const torch::Tensor converted = convert_sums(reference_sums, reference_low, reference_high, arithmetic_.adc_bits);
      result.reference = (converted.squeeze(-1) * plane_place_.view({-1, 1})).sum(0);
    }
    return result;
  }

  // Σ over planes p and slices s of 2^(p dac.bits + s cell_bits) (base + code lsb), per sample and column, of
  // the codes the converter gives `sums` [planes, samples, slices * columns]: [samples, columns] in float64,
  // where every such sum of integers is exact. One fused pass over the sums: they are the size of every
  // conversion of a block, and separate conversion and contraction passes over them cost several times more.
  torch::Tensor convert_and_shift_add(const torch::Tensor& sums, const ConverterGrid& grid, double top_code) const {
    const std::int64_t planes = arithmetic_.planes;
    const std::int64_t samples = sums.size(1);
    const std::int64_t slices = arithmetic_.slices;
    const std::int64_t columns = columns_;
    // The grid is one per plane (full, calibrated) or one per plane and sample (dynamic).
    const torch::Tensor lsb = grid.lsb.expand({planes, samples, 1}).reshape({planes, samples}).contiguous();
    const torch::Tensor base = grid.base.expand({planes, samples, 1}).reshape({planes, samples}).contiguous();
    std::vector<double> place(static_cast<std::size_t>(planes * slices));
    for (std::int64_t p = 0; p < planes; ++p) {
      for (std::int64_t s = 0; s < slices; ++s) {
        place[static_cast<std::size_t>(p * slices + s)] =
            std::ldexp(1.0, static_cast<int>(p) * arithmetic_.dac_bits + static_cast<int>(s) * arithmetic_.cell_bits);
      }
    }
    const torch::Tensor values = sums.contiguous();
    torch::Tensor total = torch::zeros({samples, columns}, torch::kFloat64);
    AT_DISPATCH_FLOATING_TYPES(values.scalar_type(), "convert_and_shift_add", [&] {
      const scalar_t* data = values.data_ptr<scalar_t>();
      const double* lsbs = lsb.data_ptr<double>();
      const double* bases = base.data_ptr<double>();
      double* out = total.data_ptr<double>();
      at::parallel_for(0, samples, 16, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t m = begin; m < end; ++m) {
          for (std::int64_t p = 0; p < planes; ++p) {
            const scalar_t* row = data + (p * samples + m) * slices * columns;
            for (std::int64_t s = 0; s < slices; ++s) {
              accumulate_codes(row + s * columns, columns, {lsbs[p * samples + m], bases[p * samples + m], top_code},
                               place[static_cast<std::size_t>(p * slices + s)], out + m * columns);
            }
          }
        }
      });
    });
    return total;
  }

  // The layer's outputs [samples, outputs] from the shift-added physical columns, drift compensated.
  torch::Tensor outputs(const torch::Tensor& columns, const torch::Tensor& reference) const {
    const double compensation = arithmetic_.noise.drift_compensation();
    const torch::Tensor result = signed_outputs(columns, reference);
    return compensation == 1 ? result : (result * compensation).round();
  }

 private:
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
  std::int64_t columns_ = 0;
  torch::Tensor plane_place_;
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
  const CrossbarArithmetic& arithmetic = cells_->arithmetic();
  check_operands(arithmetic, integer_input);
  const torch::NoGradGuard no_grad;
  const std::vector<CrossbarArithmetic::RowGroup> groups = arithmetic.row_groups();
  std::vector<torch::Tensor> blocks;
  for (std::int64_t begin = 0; begin < integer_input.size(0); begin += kRowsPerBlock) {
    const torch::Tensor block = integer_input.index({Slice(begin, begin + kRowsPerBlock)});
    torch::Tensor rows;  // the input's planes, made when a group needs them
    torch::Tensor columns;
    torch::Tensor reference;
    for (const CrossbarArithmetic::RowGroup& group : groups) {
      const bool exact = cells_->converts_exactly(group);
      if (!exact && !rows.defined()) rows = cells_->driven_rows(block);
      GroupResult part = exact ? cells_->exact_group(block, group) : cells_->convert_group(rows, group, calibrated);
      columns = columns.defined() ? columns + part.columns : part.columns;
      if (part.reference.defined()) reference = reference.defined() ? reference + part.reference : part.reference;
    }
    blocks.push_back(cells_->outputs(columns, reference));
  }
  return torch::cat(blocks);
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

torch::Tensor crossbar_product(const CrossbarArithmetic& arithmetic, const torch::Tensor& integer_input,
                               const torch::Tensor& integer_weight, SumRange calibrated) {
  return ProgrammedLayer(arithmetic, integer_weight).product(integer_input, calibrated);
}

}  // namespace qxbar
