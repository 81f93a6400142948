#pragma once

#include <cstdint>

#include "sim/chip_spec.h"
#include "sim/core/policy.h"
#include "sim/core/workload.h"

namespace qxbar {

// How one layer at given bits sits on the chip's crossbars: the structure of its arithmetic (slices,
// bit-planes, rows, row groups; see crossbar_arithmetic.h) cut into crossbar tiles. Every cost engine reads
// it from here.
struct LayerMapping {
  int weight_slices = 0;         // ceil(w_bits / cell_bits), of the widest channel under per-channel widths
  int input_cycles = 0;          // ceil(a_bits / dac_bits): bit-planes streamed per invocation
  std::int64_t rows = 0;         // word lines the layer needs after signed mapping
  std::int64_t rows_per_read = 0;  // word lines one crossbar read activates
  std::int64_t cols = 0;         // bit lines after slicing (each channel at its own width) and signed mapping
  std::int64_t row_tiles = 0;    // ceil(rows / crossbar.rows)
  std::int64_t col_tiles = 0;    // ceil(cols / crossbar.cols)
  std::int64_t crossbars = 0;    // row_tiles * col_tiles
  std::int64_t reload_groups = 0;  // batches of crossbars programmed and run in turn: ceil(crossbars / on chip)
  bool fits_on_chip = false;     // all crossbars resident at once
  bool writes_weights = false;   // weights are programmed as part of running the layer
  std::int64_t outputs = 0;          // the layer's output channels
  std::int64_t output_columns = 0;   // bit lines the outputs occupy (cols without a reference column)

  // Tiles are numbered row-tile fastest: tile t covers row tile t % row_tiles, column tile t / row_tiles.
  std::int64_t rows_in_tile(std::int64_t tile, std::int64_t crossbar_rows) const;
  std::int64_t cols_in_tile(std::int64_t tile, std::int64_t crossbar_cols) const;
  // Row groups tile `tile` is read in, one after another, for every input plane: one crossbar read and one
  // conversion of each of its columns per group.
  std::int64_t groups_in_tile(std::int64_t tile, std::int64_t crossbar_rows) const;
  // Outputs whose partial sums tile `tile` yields, counted at the layer's mean bit lines per output, so
  // that channels of one width count as a per-layer width does.
  std::int64_t outputs_in_tile(std::int64_t tile, std::int64_t crossbar_cols) const;
  // Reload group g holds tiles [group_begin(g), group_end(g)).
  std::int64_t group_begin(std::int64_t group, std::int64_t crossbars_on_chip) const;
  std::int64_t group_end(std::int64_t group, std::int64_t crossbars_on_chip) const;
};

// Bytes one invocation moves for the crossbars [begin, end): each crossbar reads its slice of the input
// vector from the input buffer and yields one 32-bit partial sum per output it holds (its slices and
// bit-planes merged by shift-add). The first row tile of each column tile in the range accumulates into
// the output buffer; the partial sums of the other row tiles travel over the interconnect to it.
struct InvocationTraffic {
  std::int64_t input_bytes = 0;
  std::int64_t output_bytes = 0;
  std::int64_t reduction_bytes = 0;
};

InvocationTraffic invocation_traffic(const ChipSpec& chip, const LayerMapping& mapping, Bits bits, std::int64_t begin,
                                     std::int64_t end);

// Hops a reduction crosses: one on a bus; on a mesh, the side of the square of tiles the crossbars span.
int reduction_hops(const ChipSpec& chip, std::int64_t crossbars);

// The most crossbars one layer may map to (16.7 million, about 1000 times ISAAC's chip): engines visit
// every tile, so larger layers would price for hours.
constexpr std::int64_t kMaxCrossbarsPerLayer = std::int64_t{1} << 24;

// Throws CountOverflow when the layer needs more than kMaxCrossbarsPerLayer or a count beyond 64 bits, and
// DataError when per-channel widths do not give one width per output channel.
LayerMapping map_layer(const ChipSpec& chip, const LayerShape& layer, Bits bits);

}  // namespace qxbar
