#include "sim/mapper.h"

#include <algorithm>
#include <cmath>

#include "sim/core/checked.h"
#include "sim/core/errors.h"
#include "sim/crossbar_arithmetic.h"

namespace qxbar {
namespace {

std::int64_t ceil_div(std::int64_t numerator, std::int64_t denominator) {
  return (numerator + denominator - 1) / denominator;
}

// The part of a dimension of `total` cells that falls into tile `index` of size `tile_size`.
std::int64_t share_of_tile(std::int64_t total, std::int64_t tile_size, std::int64_t index) {
  return std::min(tile_size, total - index * tile_size);
}

// Bit lines of one polarity: each output channel's slices at its own width.
std::int64_t output_bit_lines(const ChipSpec& chip, const LayerShape& layer, const Bits& bits) {
  const auto slices = [&chip](int width) { return std::int64_t{weight_slices(width, chip.crossbar.cell_bits)}; };
  if (!bits.is_per_channel()) return checked_multiply(layer.output_dim, slices(bits.w), "bit lines");
  if (static_cast<std::int64_t>(bits.channel_w.size()) != layer.output_dim) {
    throw DataError("layer " + layer.name + ": per-channel weight widths for " + std::to_string(bits.channel_w.size()) +
                    " channels, the layer has " + std::to_string(layer.output_dim));
  }
  std::int64_t lines = 0;
  for (const int width : bits.channel_w) lines += slices(width);  // a list held in memory cannot overflow this
  return lines;
}

}  // namespace

LayerMapping map_layer(const ChipSpec& chip, const LayerShape& layer, Bits bits) {
  // Where the layer's cells sit does not depend on the sign of its inputs.
  const CrossbarArithmetic arithmetic = crossbar_arithmetic(chip, layer.input_dim, bits, false);
  LayerMapping mapping;
  mapping.weight_slices = arithmetic.slices;
  mapping.input_cycles = arithmetic.planes;
  mapping.rows = arithmetic.physical_rows;
  mapping.rows_per_read = arithmetic.rows_per_read;
  mapping.outputs = layer.output_dim;
  mapping.output_columns = output_bit_lines(chip, layer, bits);
  mapping.cols = mapping.output_columns;
  switch (chip.mapping) {
    case SignedMapping::Offset:
      mapping.cols += 1;  // one reference column whose current is subtracted from every output
      break;
    case SignedMapping::DifferentialColumn:
      mapping.cols = checked_multiply(mapping.cols, std::int64_t{2}, "bit lines");
      mapping.output_columns = mapping.cols;
      break;
    case SignedMapping::DifferentialRow:  // doubles the rows: the arithmetic's physical rows
      break;
  }
  mapping.row_tiles = ceil_div(mapping.rows, chip.crossbar.rows);
  mapping.col_tiles = ceil_div(mapping.cols, chip.crossbar.cols);
  mapping.crossbars = checked_multiply(mapping.row_tiles, mapping.col_tiles, "crossbars");
  if (mapping.crossbars > kMaxCrossbarsPerLayer) {
    throw CountOverflow("crossbars: the layer needs " + std::to_string(mapping.crossbars) + ", more than the " +
                        std::to_string(kMaxCrossbarsPerLayer) + " one layer may map to");
  }
  const std::int64_t on_chip = chip.crossbars_on_chip();
  mapping.fits_on_chip = mapping.crossbars <= on_chip;
  mapping.reload_groups = ceil_div(mapping.crossbars, on_chip);
  mapping.writes_weights = chip.weights.residency == WeightResidency::Reprogram || !mapping.fits_on_chip;
  return mapping;
}

std::int64_t LayerMapping::rows_in_tile(std::int64_t tile, std::int64_t crossbar_rows) const {
  return share_of_tile(rows, crossbar_rows, tile % row_tiles);
}

std::int64_t LayerMapping::cols_in_tile(std::int64_t tile, std::int64_t crossbar_cols) const {
  return share_of_tile(cols, crossbar_cols, tile / row_tiles);
}

std::int64_t LayerMapping::groups_in_tile(std::int64_t tile, std::int64_t crossbar_rows) const {
  return read_groups(rows_in_tile(tile, crossbar_rows), rows_per_read);
}

std::int64_t LayerMapping::outputs_in_tile(std::int64_t tile, std::int64_t crossbar_cols) const {
  return ceil_div(checked_multiply(cols_in_tile(tile, crossbar_cols), outputs, "outputs in a tile"), output_columns);
}

std::int64_t LayerMapping::group_begin(std::int64_t group, std::int64_t crossbars_on_chip) const {
  return group * crossbars_on_chip;
}

std::int64_t LayerMapping::group_end(std::int64_t group, std::int64_t crossbars_on_chip) const {
  return std::min(crossbars, (group + 1) * crossbars_on_chip);
}

InvocationTraffic invocation_traffic(const ChipSpec& chip, const LayerMapping& mapping, Bits bits, std::int64_t begin,
                                     std::int64_t end) {
  constexpr std::int64_t kPartialSumBytes = 4;
  InvocationTraffic traffic;
  for (std::int64_t tile = begin; tile < end; ++tile) {
    traffic.input_bytes += ceil_div(mapping.rows_in_tile(tile, chip.crossbar.rows) * bits.a, 8);
    const std::int64_t partial_sums = kPartialSumBytes * mapping.outputs_in_tile(tile, chip.crossbar.cols);
    const bool heads_its_column = tile == begin || tile % mapping.row_tiles == 0;
    (heads_its_column ? traffic.output_bytes : traffic.reduction_bytes) += partial_sums;
  }
  return traffic;
}

int reduction_hops(const ChipSpec& chip, std::int64_t crossbars) {
  if (chip.interconnect.kind == InterconnectKind::Bus) return 1;
  const std::int64_t per_tile = static_cast<std::int64_t>(chip.hierarchy.pes_per_tile) * chip.hierarchy.crossbars_per_pe;
  const auto tiles = static_cast<double>(ceil_div(crossbars, per_tile));
  return std::max(1, static_cast<int>(std::ceil(std::sqrt(tiles))));
}

}  // namespace qxbar
