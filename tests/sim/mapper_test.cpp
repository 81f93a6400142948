#include "sim/mapper.h"

#include <gtest/gtest.h>

#include "tests/test_support.h"

namespace qxbar {
namespace {

using qxbar::testing::TempDir;

// 128x128 crossbars of 2-bit cells with 2-bit inputs; the layer is 300 inputs x 100 outputs.
ChipSpec small_chip(const std::string& mapping, int crossbars_on_chip = 1000) {
  TempDir dir;
  return load_chip(dir.write("chip.yaml", "crossbar: {rows: 128, cols: 128, cell_bits: 2}\ndac: {bits: 2}\n"),
                   {"mapping=" + mapping, "hierarchy.crossbars_per_pe=" + std::to_string(crossbars_on_chip)});
}

const LayerShape kLayer{"probe", LayerKind::Conv, 300, 100, 49, 1};

TEST(Mapper, OffsetAddsOneReferenceColumn) {
  const LayerMapping mapping = map_layer(small_chip("offset"), kLayer, {8, 5});
  EXPECT_EQ(mapping.weight_slices, 4);
  EXPECT_EQ(mapping.input_cycles, 3);  // ceil(5 / 2)
  EXPECT_EQ(mapping.rows, 300);
  EXPECT_EQ(mapping.cols, 401);
  EXPECT_EQ(mapping.row_tiles, 3);
  EXPECT_EQ(mapping.col_tiles, 4);
  EXPECT_EQ(mapping.crossbars, 12);
}

TEST(Mapper, DifferentialColumnDoublesColumns) {
  const LayerMapping mapping = map_layer(small_chip("differential-column"), kLayer, {8, 8});
  EXPECT_EQ(mapping.cols, 800);
  EXPECT_EQ(mapping.rows, 300);
  EXPECT_EQ(mapping.col_tiles, 7);
  EXPECT_EQ(mapping.crossbars, 21);
}

TEST(Mapper, DifferentialRowDoublesRows) {
  const LayerMapping mapping = map_layer(small_chip("differential-row"), kLayer, {3, 1});
  EXPECT_EQ(mapping.weight_slices, 2);  // ceil(3 / 2)
  EXPECT_EQ(mapping.input_cycles, 1);
  EXPECT_EQ(mapping.rows, 600);
  EXPECT_EQ(mapping.cols, 200);
  EXPECT_EQ(mapping.row_tiles, 5);
  EXPECT_EQ(mapping.col_tiles, 2);
  EXPECT_EQ(mapping.crossbars, 10);
}

TEST(Mapper, EachChannelTakesTheSlicesOfItsOwnWidth) {
  // 30 channels at 8 bits (4 slices of 2-bit cells), 50 at 4 (2 slices), 20 at 1 (1 slice).
  std::vector<int> widths(30, 8);
  widths.insert(widths.end(), 50, 4);
  widths.insert(widths.end(), 20, 1);
  const Bits bits = Bits::per_channel(widths, 5);
  const LayerMapping offset = map_layer(small_chip("offset"), kLayer, bits);
  EXPECT_EQ(offset.weight_slices, 4);  // of the widest channels
  EXPECT_EQ(offset.cols, 30 * 4 + 50 * 2 + 20 + 1);
  EXPECT_EQ(offset.col_tiles, 2);
  const LayerMapping differential = map_layer(small_chip("differential-column"), kLayer, bits);
  EXPECT_EQ(differential.cols, 2 * (30 * 4 + 50 * 2 + 20));
  EXPECT_EQ(differential.col_tiles, 4);
  // Outputs per tile at the mean bit lines per output: 128 of 480 bit lines hold 100 * 128 / 480 outputs.
  EXPECT_EQ(differential.outputs_in_tile(0, 128), 27);
  EXPECT_EQ(differential.outputs_in_tile(differential.row_tiles * 3, 128), 20);  // the last 96 bit lines
  widths.pop_back();
  EXPECT_THROW(map_layer(small_chip("offset"), kLayer, Bits::per_channel(widths, 5)), DataError);
}

TEST(Mapper, TilesCoverTheMatrixExactly) {
  const ChipSpec chip = small_chip("offset");
  const LayerMapping mapping = map_layer(chip, kLayer, {8, 8});
  EXPECT_EQ(mapping.rows_in_tile(0, 128), 128);
  EXPECT_EQ(mapping.rows_in_tile(2, 128), 44);   // last row tile: 300 - 2 * 128
  EXPECT_EQ(mapping.cols_in_tile(9, 128), 17);   // last column tile: 401 - 3 * 128
  std::int64_t cells = 0;
  for (std::int64_t tile = 0; tile < mapping.crossbars; ++tile) {
    cells += mapping.rows_in_tile(tile, 128) * mapping.cols_in_tile(tile, 128);
  }
  EXPECT_EQ(cells, mapping.rows * mapping.cols);
}

TEST(Mapper, TilesAreReadInGroupsOfRowsPerRead) {
  TempDir dir;
  const ChipSpec chip = load_chip(dir.write("chip.yaml", "crossbar: {rows: 128, rows_per_read: 48, cell_bits: 2}\n"),
                                  {"mapping=offset"});
  const LayerMapping mapping = map_layer(chip, kLayer, {8, 8});
  EXPECT_EQ(mapping.rows_per_read, 48);
  EXPECT_EQ(mapping.groups_in_tile(0, 128), 3);  // 128 rows: 48 + 48 + 32
  EXPECT_EQ(mapping.groups_in_tile(1, 128), 3);
  EXPECT_EQ(mapping.groups_in_tile(2, 128), 1);  // the last 44 rows
  EXPECT_EQ(map_layer(small_chip("offset"), kLayer, {8, 8}).groups_in_tile(0, 128), 1);  // all rows at once
}

TEST(Mapper, LayerLargerThanTheChipIsSplitIntoReloadGroups) {
  const ChipSpec chip = small_chip("offset", 5);
  const LayerMapping mapping = map_layer(chip, kLayer, {8, 8});
  EXPECT_FALSE(mapping.fits_on_chip);
  EXPECT_TRUE(mapping.writes_weights);  // stationary weights cannot stay when they do not fit
  EXPECT_EQ(mapping.reload_groups, 3);
  EXPECT_EQ(mapping.group_begin(2, 5), 10);
  EXPECT_EQ(mapping.group_end(2, 5), 12);

  const LayerMapping resident = map_layer(small_chip("offset", 12), kLayer, {8, 8});
  EXPECT_TRUE(resident.fits_on_chip);
  EXPECT_FALSE(resident.writes_weights);
  EXPECT_EQ(resident.reload_groups, 1);
}

}  // namespace
}  // namespace qxbar
