#include "sim/analytical_engine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "sim/core/checked.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using qxbar::testing::TempDir;
using qxbar::testing::source_path;

// CIM-AQ's latency formula, written out independently of the mapper, in ns: differential-column
// mapping on one 256x256 crossbar, 56 us per write, 1.4 us per MVM execution, 1-bit inputs.
double cimaq_formula_ns(const LayerShape& layer, Bits bits, int cell_bits) {
  const auto slices = static_cast<std::int64_t>(std::ceil(static_cast<double>(bits.w) / cell_bits));
  const std::int64_t cols = layer.output_dim * slices * 2;
  const std::int64_t writes = ((cols + 255) / 256) * ((layer.input_dim + 255) / 256);
  const std::int64_t executes = layer.mvm_invocations * writes * bits.a;
  return static_cast<double>(layer.repeat_factor) * (writes * 56000.0 + executes * 1400.0);
}

TEST(AnalyticalEngine, MatchesCimaqFormulaOnEveryLayerAndBitPair) {
  for (const char* network : {"tests/data/resnet18_layer_dimensions.yaml", "tests/data/vgg16_layer_dimensions.yaml"}) {
    const Workload workload = load_cimaq_layer_file(source_path(network));
    for (const int cell_bits : {4, 2}) {
      const AnalyticalEngine engine(load_chip("cimaq_default", {"crossbar.cell_bits=" + std::to_string(cell_bits)}));
      for (const LayerShape& layer : workload.layers) {
        for (int w = 1; w <= 8; ++w) {
          for (int a = 1; a <= 8; ++a) {
            ASSERT_EQ(engine.price(layer, {w, a}).latency_ns, cimaq_formula_ns(layer, {w, a}, cell_bits))
                << network << " " << layer.name << " w=" << w << " a=" << a << " cell_bits=" << cell_bits;
          }
        }
      }
    }
  }
}

TEST(AnalyticalEngine, HandComputedResnetFirstLayer) {
  // 64 outputs x 2 slices x 2 (differential) = 256 columns and 147 rows: one crossbar, written once,
  // then 112 * 112 invocations of 8 input bits at 1.4 us each.
  const AnalyticalEngine engine(load_chip("cimaq_default"));
  const LayerCost cost = engine.price({"conv1", LayerKind::Conv, 3 * 7 * 7, 64, 112 * 112, 1}, {8, 8});
  EXPECT_EQ(cost.mapping.crossbars, 1);
  EXPECT_DOUBLE_EQ(cost.write_ns, 56000.0);
  EXPECT_DOUBLE_EQ(cost.latency_ns, 56000.0 + 112 * 112 * 8 * 1400.0);  // 140548.8 us
}

TEST(AnalyticalEngine, RepeatFactorMultipliesTimeAndActions) {
  const AnalyticalEngine engine(load_chip("cimaq_default"));
  const LayerShape head{"head", LayerKind::MatMul, 128, 64, 50, 1};
  LayerShape heads = head;
  heads.repeat_factor = 12;
  const LayerCost one = engine.price(head, {4, 4});
  const LayerCost twelve = engine.price(heads, {4, 4});
  EXPECT_DOUBLE_EQ(twelve.latency_ns, 12 * one.latency_ns);
  EXPECT_EQ(twelve.counts.adc_conversions, 12 * one.counts.adc_conversions);
  EXPECT_EQ(twelve.counts.cells_written, 12 * one.counts.cells_written);
}

TEST(AnalyticalEngine, CountsBeyondSixtyFourBitsAreRefusedNamingTheLayer) {
  const AnalyticalEngine engine(load_chip("isaac"));
  LayerShape repeated{"conv0", LayerKind::Conv, 1152, 128, 784, 1};
  const LayerCost once = engine.price(repeated, {8, 8});
  // Just below the largest count the repeat can reach, and far beyond it.
  repeated.repeat_factor = std::numeric_limits<std::int64_t>::max() / once.counts.cell_reads;
  EXPECT_GT(engine.price(repeated, {8, 8}).counts.cell_reads, 0);
  repeated.repeat_factor = 1000000000000;
  const Workload network{"big", {repeated}};
  const std::string message = testing::error_message<CountOverflow>(
      [&] { price_network(engine, network, uniform_policy(network, {8, 8})); });
  EXPECT_EQ(message.rfind("big, layer conv0: cell_reads: ", 0), 0u) << message;
  EXPECT_NE(message.find("does not fit a 64-bit count; the layer is too large to price"), std::string::npos) << message;
  // A layer beyond the crossbars one layer may map to is refused before any tile is visited.
  const LayerShape huge{"dense0", LayerKind::Dense, 8600000000, 8600000000, 1, 1};
  EXPECT_THROW(engine.price(huge, {8, 8}), CountOverflow);
}

// 128x128 crossbars of 2-bit cells, 2-bit inputs, weights stationary, 1 GHz clock, 8-bit SAR converters
// (8 ns per sample), room for 16 crossbars.
ChipSpec pipeline_chip(const std::vector<std::string>& overrides) {
  TempDir dir;
  std::vector<std::string> all = {"crossbar.read_time_ns=100", "shift_add.latency_cycles=2", "adc.bits=8",
                                  "adc.kind=sar", "mapping=offset", "dac.bits=2",
                                  "hierarchy.crossbars_per_pe=16"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  return load_chip(dir.write("chip.yaml", "crossbar: {rows: 128, cols: 128, cell_bits: 2}\n"), all);
}

TEST(AnalyticalEngine, SampleAndHoldPipelinesReadsWithConversions) {
  const LayerShape layer{"probe", LayerKind::Dense, 100, 60, 10, 1};  // 241 columns in two tiles at w = 8, 4 input cycles
  const double planes = 10 * 4;
  // ADC-bound: 64 columns per converter take 512 ns against a 100 ns read.
  const ChipSpec held = pipeline_chip({"adc.columns_per_adc=64", "adc.sample_and_hold=true"});
  EXPECT_DOUBLE_EQ(AnalyticalEngine(held).price(layer, {8, 8}).latency_ns, 100 + (planes - 1) * 512 + 512 + 2);
  const ChipSpec unheld = pipeline_chip({"adc.columns_per_adc=64", "adc.sample_and_hold=false"});
  EXPECT_DOUBLE_EQ(AnalyticalEngine(unheld).price(layer, {8, 8}).latency_ns, planes * (100 + 512) + 2);
  // Read-bound: 4 columns per converter take 32 ns.
  const ChipSpec read_bound = pipeline_chip({"adc.columns_per_adc=4"});
  EXPECT_DOUBLE_EQ(AnalyticalEngine(read_bound).price(layer, {8, 8}).latency_ns, 100 + (planes - 1) * 100 + 32 + 2);
}

TEST(AnalyticalEngine, AdcBitsCostTimeForSarAndEnergyForBoth) {
  const LayerShape layer{"probe", LayerKind::Dense, 100, 60, 10, 1};
  for (const char* kind : {"sar", "flash"}) {
    const std::string kind_key = std::string("adc.kind=") + kind;
    const LayerCost low = AnalyticalEngine(pipeline_chip({kind_key, "adc.bits=4", "adc.columns_per_adc=64"})).price(layer, {8, 8});
    const LayerCost high = AnalyticalEngine(pipeline_chip({kind_key, "adc.bits=8", "adc.columns_per_adc=64"})).price(layer, {8, 8});
    EXPECT_GT(high.energy_pj[Component::Adc], low.energy_pj[Component::Adc]) << kind;
    if (std::string(kind) == "sar") {
      EXPECT_GT(high.latency_ns, low.latency_ns);
    } else {
      EXPECT_DOUBLE_EQ(high.latency_ns, low.latency_ns);
    }
  }
}

TEST(AnalyticalEngine, ComponentEnergiesSumToTheTotalAndLeakageFollowsTime) {
  const ChipSpec chip = pipeline_chip({"chip.leakage_mw=2"});
  const LayerCost cost = AnalyticalEngine(chip).price({"probe", LayerKind::Conv, 576, 64, 196, 1}, {6, 5});
  double sum = 0;
  for (const Component component : kComponents) {
    EXPECT_GE(cost.energy_pj[component], 0.0) << to_string(component);
    sum += cost.energy_pj[component];
  }
  EXPECT_DOUBLE_EQ(sum, cost.energy_pj.total());
  EXPECT_DOUBLE_EQ(cost.energy_pj[Component::Leakage], 2.0 * cost.latency_ns);
  EXPECT_EQ(cost.counts.shift_adds, cost.counts.adc_conversions);
}

TEST(AnalyticalEngine, APolicysEnergyPerCellReadRepricesOnlyTheCrossbars) {
  const ChipSpec chip = pipeline_chip({"crossbar.read_energy_fj_per_cell=2"});
  const LayerShape layer{"probe", LayerKind::Conv, 576, 64, 196, 1};
  const LayerCost chips = AnalyticalEngine(chip).price(layer, {6, 5});
  const LayerCost own = AnalyticalEngine(chip).price(layer, {6, 5, 7.0});
  EXPECT_EQ(own.latency_ns, chips.latency_ns);
  EXPECT_DOUBLE_EQ(own.energy_pj[Component::Crossbar], static_cast<double>(own.counts.cell_reads) * 7.0 / 1000.0);
  EXPECT_DOUBLE_EQ(own.energy_pj[Component::Crossbar], 3.5 * chips.energy_pj[Component::Crossbar]);
  for (const Component component : kComponents) {
    if (component != Component::Crossbar) EXPECT_EQ(own.energy_pj[component], chips.energy_pj[component]) << to_string(component);
  }
}

TEST(AnalyticalEngine, StationaryWeightsSkipWritesUnlessTheLayerDoesNotFit) {
  const LayerShape layer{"probe", LayerKind::Conv, 576, 63, 196, 1};  // 5 x 2 crossbars at w = 8 (offset)
  const LayerCost resident = AnalyticalEngine(pipeline_chip({"hierarchy.crossbars_per_pe=10"})).price(layer, {8, 8});
  EXPECT_DOUBLE_EQ(resident.write_ns, 0.0);
  EXPECT_EQ(resident.counts.cells_written, 0);

  const LayerCost reprogrammed =
      AnalyticalEngine(pipeline_chip({"hierarchy.crossbars_per_pe=10", "weights.residency=reprogram"})).price(layer, {8, 8});
  EXPECT_EQ(reprogrammed.counts.cells_written, reprogrammed.mapping.rows * reprogrammed.mapping.cols);
  // Row-granular writes: every mapped row of each of the two column tiles, one port, 200 ns per row.
  EXPECT_DOUBLE_EQ(reprogrammed.write_ns, 2 * 576 * 200.0);
  EXPECT_DOUBLE_EQ(reprogrammed.latency_ns - reprogrammed.write_ns, resident.latency_ns);

  // Half the crossbars: two reload groups, each written and then run.
  const LayerCost split = AnalyticalEngine(pipeline_chip({"hierarchy.crossbars_per_pe=5"})).price(layer, {8, 8});
  EXPECT_EQ(split.mapping.reload_groups, 2);
  EXPECT_DOUBLE_EQ(split.write_ns, reprogrammed.write_ns);
  EXPECT_GT(split.latency_ns - split.write_ns, resident.latency_ns);
}

TEST(AnalyticalEngine, WritePortsProgramCrossbarsInParallel) {
  const LayerShape layer{"probe", LayerKind::Conv, 576, 63, 196, 1};  // 5 x 2 crossbars at w = 8 (offset)
  const auto write_ns = [&](int ports) {
    return AnalyticalEngine(pipeline_chip({"weights.residency=reprogram", "hierarchy.crossbars_per_pe=10",
                                           "weights.write_ports=" + std::to_string(ports)}))
        .price(layer, {8, 8})
        .write_ns;
  };
  EXPECT_DOUBLE_EQ(write_ns(10), 128 * 200.0);  // all ten crossbars at once; the longest holds 128 rows
  EXPECT_LT(write_ns(2), write_ns(1));
}

ChipSpec row_group_chip(const std::vector<std::string>& overrides = {}) {
  TempDir dir;
  return load_chip(dir.write("chip.yaml", qxbar::testing::kRowGroupChipYaml), overrides);
}

TEST(AnalyticalEngine, RowGroupsMultiplyReadsConversionsAndTime) {
  // 10 inputs x 3 outputs at w4 a2: 7 columns (two slices per output and the reference column) in row
  // tiles of 8 and 2 rows, read in 4 and 1 groups. Two invocations of 2 planes: 4 planes in all.
  const LayerShape layer{"tiny", LayerKind::Dense, 10, 3, 2, 1};
  const LayerCost cost = AnalyticalEngine(row_group_chip()).price(layer, {4, 2});
  EXPECT_EQ(cost.counts.crossbar_reads, 4 * (4 + 1));
  EXPECT_EQ(cost.counts.adc_conversions, 4 * (4 * 7 + 1 * 7));
  EXPECT_EQ(cost.counts.shift_adds, 140);
  EXPECT_EQ(cost.counts.cell_reads, 4 * (8 * 7 + 2 * 7));  // each cell once per plane, as without groups
  EXPECT_EQ(cost.counts.dac_conversions, 4 * 10);
  // The crossbars read in lock-step, so every plane takes the 4 steps of the larger tile: 16 reads of
  // 100 ns, each followed by 7 conversions of 4 cycles (28 ns), overlapped with the next read when held.
  EXPECT_DOUBLE_EQ(cost.latency_ns, 100 + 15 * 100 + 28 + 1);
  const ChipSpec unheld = row_group_chip({"adc.sample_and_hold=false"});
  EXPECT_DOUBLE_EQ(AnalyticalEngine(unheld).price(layer, {4, 2}).latency_ns, 16 * (100 + 28) + 1);
}

TEST(AnalyticalEngine, NetworkCostIsTheSumOfItsLayers) {
  const AnalyticalEngine engine(load_chip("cimaq_default"));
  const Workload workload = load_cimaq_layer_file(source_path("tests/data/resnet18_layer_dimensions.yaml"));
  const NetworkCost network = price_network(engine, workload, uniform_policy(workload, {4, 6}));
  double latency = 0;
  for (const LayerCost& layer : network.layers) latency += layer.latency_ns;
  EXPECT_DOUBLE_EQ(network.latency_ns, latency);
  EXPECT_EQ(network.layers.size(), 21u);
  EXPECT_THROW(price_network(engine, workload, Policy{{{8, 8}}}), DataError);
}

}  // namespace
}  // namespace qxbar
