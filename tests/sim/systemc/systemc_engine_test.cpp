#include "sim/systemc/systemc_engine.h"

#include <gtest/gtest.h>

#include <systemc>

#include "sim/analytical_engine.h"
#include "sim/systemc/blocks.h"
#include "sim/systemc/simulation_context.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using qxbar::testing::TempDir;
using qxbar::testing::source_path;

void expect_same_counts(const ActionCounts& actual, const ActionCounts& expected, const std::string& context) {
  for (const CounterInfo& info : counter_infos()) {
    EXPECT_EQ(actual.*info.field, expected.*info.field) << context << ": " << info.name;
  }
}

TEST(SystemcEngine, EqualsAnalyticalEngineOnCimaqChipForEveryLayerAndBitPair) {
  for (const char* network : {"tests/data/resnet18_layer_dimensions.yaml", "tests/data/vgg16_layer_dimensions.yaml"}) {
    const Workload workload = load_cimaq_layer_file(source_path(network));
    for (const int cell_bits : {4, 2}) {
      const ChipSpec chip = load_chip("cimaq_default", {"crossbar.cell_bits=" + std::to_string(cell_bits)});
      const SystemcEngine simulated(chip);
      const AnalyticalEngine closed_form(chip);
      for (const LayerShape& layer : workload.layers) {
        for (int w = 1; w <= 8; ++w) {
          for (int a = 1; a <= 8; ++a) {
            const LayerCost expected = closed_form.price(layer, {w, a});
            const LayerCost actual = simulated.price(layer, {w, a});
            const std::string context = std::string(network) + " " + layer.name + " w" + std::to_string(w) + "a" +
                                        std::to_string(a) + " cells" + std::to_string(cell_bits);
            ASSERT_EQ(actual.latency_ns, expected.latency_ns) << context;
            ASSERT_EQ(actual.write_ns, expected.write_ns) << context;
            if (w == a) expect_same_counts(actual.counts, expected.counts, context);
          }
        }
      }
    }
  }
}

const std::vector<LayerShape> kProbeLayers = {
    {"conv", LayerKind::Conv, 576, 64, 196, 1},
    {"partial", LayerKind::Conv, 147, 40, 100, 1},
    {"dense", LayerKind::Dense, 512, 10, 1, 1},
    {"heads", LayerKind::MatMul, 128, 64, 50, 3},
};

std::vector<ChipSpec> probe_chips() {
  return {load_chip("cimaq_default"),
          load_chip("isaac"),
          load_chip("neurosim_rram"),
          load_chip("isaac", {"interconnect.bandwidth_bytes_per_cycle=1", "interconnect.kind=bus"}),
          load_chip("isaac", {"shift_add.latency_cycles=300"}),
          load_chip("neurosim_rram", {"adc.sample_and_hold=false", "buffer.bandwidth_bytes_per_cycle=2"}),
          load_chip("neurosim_rram", {"hierarchy.tiles=1", "hierarchy.pes_per_tile=1", "hierarchy.crossbars_per_pe=3",
                                      "weights.write_ports=2"}),
          load_chip("isaac", {"crossbar.rows_per_read=40"})};
}

TEST(SystemcEngine, FastForwardEqualsFullSimulation) {
  std::int64_t skipped_events = 0;
  for (const ChipSpec& chip : probe_chips()) {
    const SystemcEngine fast(chip);
    const SystemcEngine full(chip, {false, ""});
    for (const LayerShape& layer : kProbeLayers) {
      for (const Bits& bits : {Bits{8, 8}, Bits{3, 5}, Bits{1, 2}}) {
        const LayerCost expected = full.price(layer, bits);
        const LayerCost actual = fast.price(layer, bits);
        const std::string context = chip.name + " " + layer.name + " w" + std::to_string(bits.w) + "a" + std::to_string(bits.a);
        EXPECT_EQ(actual.latency_ns, expected.latency_ns) << context;
        EXPECT_EQ(actual.write_ns, expected.write_ns) << context;
        expect_same_counts(actual.counts, expected.counts, context);
      }
    }
    skipped_events += full.activity().events - fast.activity().events;
  }
  EXPECT_GT(skipped_events, 0) << "fast-forward never skipped anything";
}

// With data movement hidden and one group, the simulated datapath is exactly the analytical pipeline.
TEST(SystemcEngine, AdcBoundLatencyScalesWithColumnsPerConverter) {
  const LayerShape layer{"probe", LayerKind::Dense, 128, 64, 200, 1};
  std::vector<double> latencies;
  for (const int columns : {16, 32, 64, 128}) {
    const ChipSpec chip = load_chip("isaac", {"chip.data_movement=hidden", "adc.kind=sar",
                                              "adc.columns_per_adc=" + std::to_string(columns)});
    const LayerCost simulated = SystemcEngine(chip).price(layer, {8, 8});
    EXPECT_EQ(simulated.latency_ns, AnalyticalEngine(chip).price(layer, {8, 8}).latency_ns) << columns;
    const double planes = 200 * 8;
    EXPECT_GE(simulated.latency_ns, planes * columns * chip.adc_conversion_ns()) << columns;  // converter-bound
    latencies.push_back(simulated.latency_ns);
  }
  for (std::size_t i = 1; i < latencies.size(); ++i) EXPECT_NEAR(latencies[i] / latencies[i - 1], 2.0, 0.01);
}

TEST(SystemcEngine, MoreAdcBitsCostTimeForSarAndEnergyForBoth) {
  const LayerShape layer{"probe", LayerKind::Dense, 128, 64, 200, 1};
  for (const char* kind : {"sar", "flash"}) {
    const auto price = [&](int bits) {
      return SystemcEngine(load_chip("isaac", {std::string("adc.kind=") + kind, "adc.bits=" + std::to_string(bits)}))
          .price(layer, {8, 8});
    };
    const LayerCost low = price(4);
    const LayerCost high = price(8);
    EXPECT_GT(high.energy_pj[Component::Adc], low.energy_pj[Component::Adc]) << kind;
    if (std::string(kind) == "sar") {
      EXPECT_GT(high.latency_ns, low.latency_ns);
    } else {
      EXPECT_EQ(high.latency_ns, low.latency_ns);
    }
  }
}

TEST(SystemcEngine, SampleAndHoldOverlapsReadsWithConversions) {
  const LayerShape layer{"probe", LayerKind::Dense, 128, 64, 200, 1};
  const ChipSpec held = load_chip("neurosim_rram", {"chip.data_movement=hidden"});
  const ChipSpec unheld = load_chip("neurosim_rram", {"chip.data_movement=hidden", "adc.sample_and_hold=false"});
  const double planes = 200 * 8;
  const double read = held.crossbar.read_time_ns;
  const double convert = 8 * held.adc_conversion_ns();
  const double shift_add = held.shift_add.latency_cycles * held.cycle_ns();
  EXPECT_DOUBLE_EQ(SystemcEngine(held).price(layer, {8, 8}).latency_ns,
                   read + (planes - 1) * std::max(read, convert) + convert + shift_add);
  EXPECT_DOUBLE_EQ(SystemcEngine(unheld).price(layer, {8, 8}).latency_ns, planes * (read + convert) + shift_add);
}

TEST(SystemcEngine, TwoTransfersOnOneBusTakeLongerThanOne) {
  const ChipSpec chip = load_chip("isaac", {"interconnect.kind=bus", "interconnect.bandwidth_bytes_per_cycle=8",
                                            "interconnect.hop_latency_cycles=2"});
  const auto cycles_fs = [&](int cycles) { return static_cast<sc_dt::uint64>(cycles * chip.cycle_ns() * 1e6); };
  const auto finish_times = [&](int senders) {
    FreshSimulation simulation;
    Interconnect bus("bus", chip);
    std::vector<sc_core::sc_time> finished;
    for (int i = 0; i < senders; ++i) {
      sc_core::sc_spawn([&] {
        bus.transfer(800, 1);
        finished.push_back(sc_core::sc_time_stamp());
      });
    }
    sc_core::sc_start();
    return finished;
  };
  const std::vector<sc_core::sc_time> alone = finish_times(1);
  const std::vector<sc_core::sc_time> contended = finish_times(2);
  ASSERT_EQ(alone.size(), 1u);
  ASSERT_EQ(contended.size(), 2u);
  EXPECT_EQ(alone[0].value(), cycles_fs(100 + 2));      // 800 B at 8 B/cycle, then two cycles of hop latency
  EXPECT_EQ(contended[0], alone[0]);
  EXPECT_EQ(contended[1].value(), cycles_fs(200 + 2));  // waited for the first to leave the bus
}

TEST(SystemcEngine, NarrowBusMakesReductionTheBottleneck) {
  // 1152 rows on 128-row crossbars: nine row tiles whose partial sums cross the bus every invocation.
  const LayerShape layer{"probe", LayerKind::Conv, 1152, 64, 100, 1};
  const ChipSpec chip = load_chip("isaac", {"interconnect.kind=bus", "interconnect.bandwidth_bytes_per_cycle=1"});
  const LayerCost cost = SystemcEngine(chip).price(layer, {8, 8});
  const InvocationTraffic traffic = invocation_traffic(chip, cost.mapping, {8, 8}, 0, cost.mapping.crossbars);
  ASSERT_GT(traffic.reduction_bytes, 0);
  const double bus_time = 100.0 * traffic.reduction_bytes * chip.cycle_ns();
  EXPECT_GE(cost.latency_ns, bus_time);
  EXPECT_GT(cost.latency_ns, AnalyticalEngine(chip).price(layer, {8, 8}).latency_ns);
}

TEST(SystemcEngine, PipelinedNetworkIsFasterThanLayerByLayerButNotThanItsSlowestLayer) {
  const ChipSpec chip = load_chip("isaac");
  const SystemcEngine engine(chip);
  for (const char* network : {"tests/data/resnet18_layer_dimensions.yaml", "tests/data/vgg16_layer_dimensions.yaml"}) {
    const Workload workload = load_cimaq_layer_file(source_path(network));
    const Policy policy = uniform_policy(workload, {2, 4});  // small enough for VGG-16 to stay resident
    const NetworkCost layer_by_layer = price_network(engine, workload, policy);
    double slowest = 0;
    for (const LayerCost& layer : layer_by_layer.layers) slowest = std::max(slowest, layer.latency_ns);
    const double pipelined = engine.pipelined_latency_ns(workload, policy);
    EXPECT_LT(pipelined, layer_by_layer.latency_ns) << network;
    EXPECT_GT(pipelined, slowest) << network;
  }
}

TEST(SystemcEngine, PipelinedNetworkMustFitAndStay) {
  const Workload workload = load_cimaq_layer_file(source_path("tests/data/vgg16_layer_dimensions.yaml"));
  const Policy policy = uniform_policy(workload, {8, 8});
  EXPECT_THROW(SystemcEngine(load_chip("isaac", {"hierarchy.tiles=2"})).pipelined_latency_ns(workload, policy),
               ConfigError);
  EXPECT_THROW(SystemcEngine(load_chip("cimaq_default")).pipelined_latency_ns(workload, policy), ConfigError);
}

TEST(SystemcEngine, LayerLargerThanTheChipPaysReprogramming) {
  const LayerShape layer{"classifier", LayerKind::Dense, 25088, 4096, 1, 1};
  const ChipSpec small = load_chip("isaac", {"hierarchy.tiles=1"});
  const LayerCost cost = SystemcEngine(small).price(layer, {4, 8});
  EXPECT_FALSE(cost.mapping.fits_on_chip);
  EXPECT_GT(cost.mapping.reload_groups, 1);
  EXPECT_EQ(cost.counts.cells_written, cost.mapping.rows * cost.mapping.cols);
  EXPECT_GE(cost.write_ns, static_cast<double>(cost.mapping.reload_groups) * small.crossbar_write_ns(1));
  const LayerCost resident = SystemcEngine(load_chip("isaac")).price(layer, {4, 8});
  EXPECT_TRUE(resident.mapping.fits_on_chip);
  EXPECT_EQ(resident.write_ns, 0.0);
  EXPECT_GT(cost.latency_ns, resident.latency_ns + cost.write_ns * 0.99);
}

// A layer small enough to price by hand: 10 inputs x 3 outputs at w4 a2 on 8x8 crossbars of 2-bit cells,
// offset mapping, 1-bit DACs, two invocations, data movement hidden.
TEST(SystemcEngine, EnergiesOfATinyLayerAreItsHandCountedActionsAtTheChipsPrices) {
  TempDir dir;
  const ChipSpec chip = load_chip(dir.write("chip.yaml", R"(
chip: {clock_mhz: 1000, leakage_mw: 0.5, data_movement: hidden}
mapping: offset
hierarchy: {tiles: 1, pes_per_tile: 1, crossbars_per_pe: 4}
crossbar: {rows: 8, cols: 8, cell_bits: 2, read_time_ns: 100, read_energy_fj_per_cell: 2}
dac: {bits: 1, energy_pj: 0.4}
adc: {kind: sar, bits: 4, columns_per_adc: 8, sample_and_hold: true, energy_per_step_fj: 10}
shift_add: {latency_cycles: 1, energy_pj: 0.05}
buffer: {energy_pj_per_byte: 0.5}
interconnect: {kind: bus, energy_pj_per_byte_hop: 0.25}
weights: {residency: stationary, write_energy_pj_per_cell: 1}
)"));
  const LayerCost cost = SystemcEngine(chip).price({"tiny", LayerKind::Dense, 10, 3, 2, 1}, {4, 2});
  // Two slices per weight and one reference column: 7 columns. 10 rows: row tiles of 8 and 2 rows, both on
  // the chip, so nothing is written. Each invocation streams 2 bit-planes through both crossbars.
  ActionCounts expected;
  expected.crossbar_reads = 2 * 2 * 2;               // invocations x planes x crossbars
  expected.cell_reads = 2 * 2 * (8 * 7 + 2 * 7);     // 280
  expected.dac_conversions = 2 * 2 * 10;             // 40
  expected.adc_conversions = 2 * 2 * (7 + 7);        // 56
  expected.shift_adds = 56;
  // Per invocation: inputs of 8 and 2 rows at 2 bits are 2 + 1 bytes; 4 partial sums (7 columns, 2 per
  // output) of 4 bytes go to the output buffer from the first row tile and over the bus from the second.
  expected.buffer_bytes = 2 * (3 + 16);
  expected.interconnect_byte_hops = 2 * 16;
  expect_same_counts(cost.counts, expected, "tiny");
  // Four planes read in 100 ns each, overlapping the conversions of the previous one; the last plane's
  // 7 columns on one converter take 7 x 4 cycles = 28 ns, then one shift-add cycle.
  EXPECT_DOUBLE_EQ(cost.latency_ns, 100 + 3 * 100 + 28 + 1);

  EXPECT_DOUBLE_EQ(cost.energy_pj[Component::Crossbar], 0.56);  // 280 cells x 2 fJ
  EXPECT_DOUBLE_EQ(cost.energy_pj[Component::Dac], 16.0);       // 40 x 0.4 pJ
  EXPECT_DOUBLE_EQ(cost.energy_pj[Component::Adc], 8.96);       // 56 x 10 fJ x 2^4 steps
  EXPECT_DOUBLE_EQ(cost.energy_pj[Component::ShiftAdd], 2.8);   // 56 x 0.05 pJ
  EXPECT_DOUBLE_EQ(cost.energy_pj[Component::Buffer], 19.0);    // 38 B x 0.5 pJ
  EXPECT_DOUBLE_EQ(cost.energy_pj[Component::Interconnect], 8.0);  // 32 B-hops x 0.25 pJ
  EXPECT_DOUBLE_EQ(cost.energy_pj[Component::Write], 0.0);
  EXPECT_DOUBLE_EQ(cost.energy_pj[Component::Leakage], 214.5);  // 0.5 mW x 429 ns
  EXPECT_DOUBLE_EQ(cost.energy_pj.total(), 0.56 + 16 + 8.96 + 2.8 + 19 + 8 + 214.5);
}

// The layer and chip of AnalyticalEngine.RowGroupsMultiplyReadsConversionsAndTime, simulated: 8x8 crossbars
// read two rows at a time, a 10 x 3 layer at w4 a2 in row tiles of 8 and 2 rows (4 and 1 groups) holding 7
// columns, two invocations of 2 planes.
TEST(SystemcEngine, RowGroupsMultiplyReadsConversionsAndTime) {
  TempDir dir;
  const std::string file = dir.write("chip.yaml", qxbar::testing::kRowGroupChipYaml);
  const LayerShape layer{"tiny", LayerKind::Dense, 10, 3, 2, 1};
  const LayerCost cost = SystemcEngine(load_chip(file)).price(layer, {4, 2});
  EXPECT_EQ(cost.counts.crossbar_reads, 4 * (4 + 1));
  EXPECT_EQ(cost.counts.adc_conversions, 4 * (4 * 7 + 1 * 7));
  EXPECT_EQ(cost.counts.shift_adds, 140);
  EXPECT_EQ(cost.counts.cell_reads, 4 * (8 * 7 + 2 * 7));
  EXPECT_EQ(cost.counts.dac_conversions, 4 * 10);
  EXPECT_DOUBLE_EQ(cost.latency_ns, 100 + 15 * 100 + 28 + 1);  // 16 reads, each then 7 conversions of 4 ns
  const LayerCost unheld = SystemcEngine(load_chip(file, {"adc.sample_and_hold=false"})).price(layer, {4, 2});
  EXPECT_DOUBLE_EQ(unheld.latency_ns, 16 * (100 + 28) + 1);
}

// With data movement hidden the simulated datapath is the analytical pipeline, row groups included: tiles
// whose last group is short, a last row tile with fewer groups, reload groups, with and without
// sample-and-hold.
TEST(SystemcEngine, EqualsAnalyticalEngineWithRowGroups) {
  std::vector<ChipSpec> chips;
  for (const char* rows_per_read : {"32", "24", "1"}) {
    const std::string key = std::string("crossbar.rows_per_read=") + rows_per_read;
    chips.push_back(load_chip("isaac", {"chip.data_movement=hidden", key}));
    chips.push_back(load_chip("neurosim_rram", {"chip.data_movement=hidden", "adc.sample_and_hold=false", key}));
    chips.push_back(load_chip("neurosim_rram", {"chip.data_movement=hidden", "hierarchy.tiles=1",
                                                "hierarchy.pes_per_tile=1", "hierarchy.crossbars_per_pe=3", key}));
    chips.push_back(load_chip("cimaq_default", {key}));
  }
  for (const ChipSpec& chip : chips) {
    const SystemcEngine simulated(chip);
    const AnalyticalEngine closed_form(chip);
    for (const LayerShape& layer : kProbeLayers) {
      for (const Bits& bits : {Bits{8, 8}, Bits{3, 5}}) {
        const LayerCost expected = closed_form.price(layer, bits);
        const LayerCost actual = simulated.price(layer, bits);
        const std::string context = chip.name + " rows_per_read " + std::to_string(chip.crossbar.rows_per_read) +
                                    " " + layer.name + " w" + std::to_string(bits.w) + "a" + std::to_string(bits.a);
        EXPECT_EQ(actual.latency_ns, expected.latency_ns) << context;
        expect_same_counts(actual.counts, expected.counts, context);
      }
    }
  }
}

// Widths of a layer's output channels: `narrow` for every third channel, `wide` for the others.
Bits mixed_channels(const LayerShape& layer, int narrow, int wide, int a) {
  std::vector<int> widths;
  for (std::int64_t c = 0; c < layer.output_dim; ++c) widths.push_back(c % 3 == 0 ? narrow : wide);
  return Bits::per_channel(widths, a);
}

TEST(SystemcEngine, PerChannelWidthsPriceTheirOwnColumnsInBothEngines) {
  std::vector<ChipSpec> chips = probe_chips();
  chips.push_back(load_chip("cimaq_default", {"mapping=differential-row"}));
  chips.push_back(load_chip("isaac", {"chip.data_movement=hidden"}));
  for (const ChipSpec& chip : chips) {
    const SystemcEngine simulated(chip);
    const AnalyticalEngine closed_form(chip);
    for (const LayerShape& layer : kProbeLayers) {
      const std::string context = chip.name + " mapping " + std::to_string(static_cast<int>(chip.mapping)) + " " + layer.name;
      // Every channel at one width prices as that width per layer.
      const LayerCost per_layer = simulated.price(layer, {6, 5});
      const LayerCost uniform = simulated.price(layer, mixed_channels(layer, 6, 6, 5));
      EXPECT_EQ(uniform.latency_ns, per_layer.latency_ns) << context;
      EXPECT_EQ(uniform.energy_pj.total(), per_layer.energy_pj.total()) << context;
      expect_same_counts(uniform.counts, per_layer.counts, context);
      // Mixed widths: the engines count the same actions (and take the same time where the analytical
      // engine models it: data movement hidden), and the layer has fewer bit lines and conversions than
      // at its widest width and more than at its narrowest.
      const Bits mixed = mixed_channels(layer, 2, 8, 5);
      const LayerCost expected = closed_form.price(layer, mixed);
      const LayerCost actual = simulated.price(layer, mixed);
      expect_same_counts(actual.counts, expected.counts, context);
      if (chip.data_movement == DataMovement::Hidden) EXPECT_EQ(actual.latency_ns, expected.latency_ns) << context;
      const LayerCost narrow = simulated.price(layer, {2, 5});
      const LayerCost wide = simulated.price(layer, {8, 5});
      EXPECT_LT(actual.mapping.cols, wide.mapping.cols) << context;
      EXPECT_GT(actual.mapping.cols, narrow.mapping.cols) << context;
      EXPECT_LE(actual.counts.adc_conversions, wide.counts.adc_conversions) << context;
      EXPECT_GE(actual.counts.adc_conversions, narrow.counts.adc_conversions) << context;
      EXPECT_LE(actual.counts.cell_reads, wide.counts.cell_reads) << context;
    }
  }
}

TEST(SystemcEngine, ResultsDoNotDependOnWhatRanBefore) {
  const ChipSpec chip = load_chip("isaac", {"interconnect.bandwidth_bytes_per_cycle=2"});
  const SystemcEngine busy(chip);
  for (int round = 0; round < 5; ++round) {
    for (const LayerShape& layer : kProbeLayers) {
      for (const Bits& bits : {Bits{5, 7}, Bits{2, 3}}) {
        const LayerCost fresh = SystemcEngine(chip).price(layer, bits);
        const LayerCost reused = busy.price(layer, bits);
        ASSERT_EQ(reused.latency_ns, fresh.latency_ns) << layer.name << " round " << round;
        ASSERT_EQ(reused.write_ns, fresh.write_ns) << layer.name << " round " << round;
        expect_same_counts(reused.counts, fresh.counts, layer.name);
      }
    }
  }
}

}  // namespace
}  // namespace qxbar
