#include "sim/mapper.h"

#include <algorithm>

namespace qxbar {
namespace {

std::int64_t ceil_div(std::int64_t numerator, std::int64_t denominator) {
  return (numerator + denominator - 1) / denominator;
}

// The part of a dimension of `total` cells that falls into tile `index` of size `tile_size`.
std::int64_t share_of_tile(std::int64_t total, std::int64_t tile_size, std::int64_t index) {
  return std::min(tile_size, total - index * tile_size);
}

}  // namespace

LayerMapping map_layer(const ChipSpec& chip, const LayerShape& layer, Bits bits) {
  LayerMapping mapping;
  mapping.weight_slices = static_cast<int>(ceil_div(bits.w, chip.crossbar.cell_bits));
  mapping.input_cycles = static_cast<int>(ceil_div(bits.a, chip.dac.bits));
  mapping.rows = layer.input_dim;
  mapping.cols = layer.output_dim * mapping.weight_slices;
  switch (chip.mapping) {
    case SignedMapping::Offset:
      mapping.cols += 1;  // one reference column whose current is subtracted from every output
      break;
    case SignedMapping::DifferentialColumn:
      mapping.cols *= 2;
      break;
    case SignedMapping::DifferentialRow:
      mapping.rows *= 2;
      break;
  }
  mapping.row_tiles = ceil_div(mapping.rows, chip.crossbar.rows);
  mapping.col_tiles = ceil_div(mapping.cols, chip.crossbar.cols);
  mapping.crossbars = mapping.row_tiles * mapping.col_tiles;
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

std::int64_t LayerMapping::group_begin(std::int64_t group, std::int64_t crossbars_on_chip) const {
  return group * crossbars_on_chip;
}

std::int64_t LayerMapping::group_end(std::int64_t group, std::int64_t crossbars_on_chip) const {
  return std::min(crossbars, (group + 1) * crossbars_on_chip);
}

}  // namespace qxbar
