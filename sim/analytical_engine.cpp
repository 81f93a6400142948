#include "sim/analytical_engine.h"

#include <algorithm>

#include "sim/core/checked.h"

namespace qxbar {
namespace {

// Programming time of one reload group: write ports take crossbars in waves, each wave as long as its
// slowest crossbar.
double group_write_ns(const ChipSpec& chip, const LayerMapping& mapping, std::int64_t begin, std::int64_t end) {
  double total = 0;
  for (std::int64_t wave = begin; wave < end; wave += chip.weights.write_ports) {
    double longest = 0;
    for (std::int64_t tile = wave; tile < std::min(end, wave + chip.weights.write_ports); ++tile) {
      longest = std::max(longest, chip.crossbar_write_ns(mapping.rows_in_tile(tile, chip.crossbar.rows)));
    }
    total += longest;
  }
  return total;
}

// Time for `reads` crossbar reads in a row (every row group of every input bit-plane) through crossbars
// whose busiest converter serves `samples_per_adc` bit lines: a two-stage pipeline (read, convert) when
// samples are held, otherwise strictly one after the other. The shift-add behind the converter adds its
// latency once.
double group_compute_ns(const ChipSpec& chip, std::int64_t reads, std::int64_t samples_per_adc) {
  const double read = chip.crossbar.read_time_ns;
  const double convert = static_cast<double>(samples_per_adc) * chip.adc_conversion_ns();
  const double shift_add = chip.shift_add.latency_cycles * chip.cycle_ns();
  const double stream = chip.adc.sample_and_hold
                            ? read + static_cast<double>(reads - 1) * std::max(read, convert) + convert
                            : static_cast<double>(reads) * (read + convert);
  return stream + shift_add;
}

// Actions of one invocation by the crossbars [begin, end).
ActionCounts group_actions(const ChipSpec& chip, const LayerMapping& mapping, Bits bits, std::int64_t begin,
                           std::int64_t end) {
  ActionCounts counts;
  for (std::int64_t tile = begin; tile < end; ++tile) {
    const std::int64_t rows = mapping.rows_in_tile(tile, chip.crossbar.rows);
    const std::int64_t cols = mapping.cols_in_tile(tile, chip.crossbar.cols);
    // Per tile each count is at most planes x crossbar rows x columns; the sums over tiles are checked.
    const std::int64_t reads = mapping.input_cycles * mapping.groups_in_tile(tile, chip.crossbar.rows);
    ActionCounts tile_counts;
    tile_counts.crossbar_reads = reads;
    tile_counts.cell_reads = mapping.input_cycles * rows * cols;
    tile_counts.dac_conversions = mapping.input_cycles * rows;
    tile_counts.adc_conversions = reads * cols;
    counts += tile_counts;
  }
  counts.shift_adds = counts.adc_conversions;
  const InvocationTraffic traffic = invocation_traffic(chip, mapping, bits, begin, end);
  counts.buffer_bytes = traffic.input_bytes + traffic.output_bytes;
  counts.interconnect_byte_hops = checked_multiply(traffic.reduction_bytes, reduction_hops(chip, end - begin), "interconnect_byte_hops");
  return counts;
}

}  // namespace

LayerCost AnalyticalEngine::price(const LayerShape& layer, Bits bits) const {
  LayerCost cost;
  cost.mapping = map_layer(chip_, layer, bits);
  const LayerMapping& mapping = cost.mapping;
  const std::int64_t on_chip = chip_.crossbars_on_chip();
  const std::int64_t planes = checked_multiply(layer.mvm_invocations, mapping.input_cycles, "input planes");

  double once_write_ns = 0;
  double once_compute_ns = 0;
  for (std::int64_t group = 0; group < mapping.reload_groups; ++group) {
    const std::int64_t begin = mapping.group_begin(group, on_chip);
    const std::int64_t end = mapping.group_end(group, on_chip);
    if (mapping.writes_weights) once_write_ns += group_write_ns(chip_, mapping, begin, end);
    // The crossbars of a reload group read in lock-step, each plane in as many steps as the tile with the
    // most row groups needs.
    std::int64_t widest = 0;
    std::int64_t steps = 0;
    for (std::int64_t tile = begin; tile < end; ++tile) {
      widest = std::max(widest, mapping.cols_in_tile(tile, chip_.crossbar.cols));
      steps = std::max(steps, mapping.groups_in_tile(tile, chip_.crossbar.rows));
    }
    once_compute_ns +=
        group_compute_ns(chip_, checked_multiply(planes, steps, "crossbar reads"), std::min<std::int64_t>(chip_.adc.columns_per_adc, widest));
    ActionCounts invocation = group_actions(chip_, mapping, bits, begin, end);
    invocation *= layer.mvm_invocations;
    cost.counts += invocation;
  }
  if (mapping.writes_weights) {
    cost.counts.crossbar_writes = mapping.crossbars;
    cost.counts.cells_written = checked_multiply(mapping.rows, mapping.cols, "cells_written");
  }

  const auto repeats = static_cast<double>(layer.repeat_factor);
  cost.write_ns = repeats * once_write_ns;
  cost.latency_ns = repeats * (once_write_ns + once_compute_ns);
  cost.counts *= layer.repeat_factor;
  cost.energy_pj = energy_of(chip_, bits, cost.counts, cost.latency_ns);
  return cost;
}

}  // namespace qxbar
