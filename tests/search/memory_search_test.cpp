#include "search/memory_search.h"

#include <gtest/gtest.h>

#include "nn/models.h"
#include "search/search_run.h"
#include "sim/analytical_engine.h"
#include "sim/chip_spec.h"
#include "sim/core/errors.h"
#include "sim/mapper.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using testing::TempDir;

// Activations per sample: conv1 784 in, 6272 out; conv2 6272 in, 3136 out; fc 3136 in, 10 out.
PolicySpace chain(SpaceOptions options = {}) {
  return {{"chain",
           {{"conv1", LayerKind::Conv, 1 * 9, 8, 784, 1},
            {"conv2", LayerKind::Conv, 8 * 9, 16, 196, 1},
            {"fc", LayerKind::Dense, 3136, 10, 1, 1}}},
          {{1, 8, 3, 1, 784, 72}, {8, 16, 3, 2, 784, 1152}, {3136, 10, 1, 1, 1, 31360}},
          options};
}

MemoryBounds bytes(double rom_kib, double ram_kib) { return {false, rom_kib * 1024, ram_kib * 1024}; }

const ChipSpec& any_chip() {
  static const ChipSpec chip = load_chip("cimaq_default", {});
  return chip;
}

TEST(MemorySearch, ActivationsCutOutputsFirstWhereTheyAreWiderOrLarger) {
  // 8 bits everywhere needs 7056 bytes for conv1 and 9408 for conv2. conv1's output is the larger tensor,
  // so conv2's input is halved (3920 bytes); conv2's output is then the wider, so fc's input is (4704).
  EXPECT_EQ(policy_summary(memory_driven_policy(chain(), any_chip(), bytes(1000, 6))), "8/8;8/4;8/4");
}

TEST(MemorySearch, ActivationsCutInputsInTheBackwardSweep) {
  // At 4 KiB conv2 still needs 4704 bytes with 4-bit input and output; its input is the larger tensor,
  // so the backward sweep halves its input again (3136 bytes).
  EXPECT_EQ(policy_summary(memory_driven_policy(chain(), any_chip(), bytes(1000, 4))), "8/8;8/2;8/4");
}

TEST(MemorySearch, NoRoomForActivationsNamesTheLayer) {
  // conv1 reads the network's 8-bit input (784 bytes) and writes at least 2 bits of 6272 values.
  try {
    memory_driven_policy(chain(), any_chip(), bytes(1000, 1));
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& error) {
    EXPECT_NE(std::string(error.what()).find("layer conv1 needs 2.297 KiB"), std::string::npos) << error.what();
  }
}

TEST(MemorySearch, WeightsCutTheLargestShareFirst) {
  // Bytes at 8 bits with per-layer requantization: 146, 1298 and 31452; fc at 4 bits: 15772, total 17216.
  EXPECT_EQ(policy_summary(memory_driven_policy(chain(), any_chip(), bytes(20, 100))), "8/8;8/8;4/8");
  EXPECT_EQ(policy_summary(memory_driven_policy(chain(), any_chip(), bytes(16, 100))), "8/8;8/8;2/8");
}

TEST(MemorySearch, PerChannelPrecisionCutsSingleChannelsOnlyAsFarAsTheBoundNeeds) {
  const MemoryBounds per_layer = bytes(20, 100);
  MemoryBounds per_channel = per_layer;
  per_channel.per_channel = true;
  // With a width byte per channel: 154, 1314 and 31462 bytes, 32930 in all. Each fc channel halved from 8
  // to 4 bits saves 1568 bytes: eight of them bring the weights to 20386 bytes, under 20480.
  EXPECT_EQ(policy_summary(memory_driven_policy(chain(), any_chip(), per_channel)), "8/8;8/8;[8x2,4x8]/8");
  // At 16 KiB every fc channel goes to 4 bits (17250 bytes) and then two on to 2 bits (784 bytes each).
  per_channel.rom = 16 * 1024;
  EXPECT_EQ(policy_summary(memory_driven_policy(chain(), any_chip(), per_channel)), "8/8;8/8;[4x8,2x2]/8");
  // Per layer the same bounds cost fc half or three quarters of all its bits.
  EXPECT_EQ(policy_summary(memory_driven_policy(chain(), any_chip(), per_layer)), "8/8;8/8;4/8");
}

TEST(MemorySearch, PerChannelPrecisionFitsTheChipsCrossbarsWithFewerBitsLost) {
  const ChipSpec chip = load_chip("cimaq_default", {"hierarchy.crossbars_per_pe=7"});
  const Model model(spec_for_workload_name("lenet5-fmnist"));
  const PolicySpace space(model.workload(), model.geometry(), {});
  MemoryOptions options;
  options.weight_precision = "per-channel";
  const MemoryBounds bounds = memory_bounds(options, chip);
  ASSERT_TRUE(bounds.per_channel);
  const Policy per_channel = memory_driven_policy(space, chip, bounds);
  const Policy per_layer = memory_driven_policy(space, chip, memory_bounds({}, chip));
  std::int64_t crossbars = 0;
  double bits_kept = 0;
  double bits_kept_per_layer = 0;
  for (std::size_t i = 0; i < per_channel.layers.size(); ++i) {
    const LayerShape& layer = space.workload().layers[i];
    crossbars += map_layer(chip, layer, per_channel.layers[i]).crossbars;
    const double weights = static_cast<double>(layer.input_dim) * static_cast<double>(layer.output_dim);
    bits_kept += weights * mean_weight_bits(per_channel.layers[i]);
    bits_kept_per_layer += weights * per_layer.layers[i].w;
  }
  EXPECT_LE(crossbars, chip.crossbars_on_chip());
  EXPECT_TRUE(per_channel.is_per_channel());
  EXPECT_GT(bits_kept, bits_kept_per_layer);
}

TEST(MemorySearch, WeightsWithinFivePointsOfTheLargestShareCutNearestTheInput) {
  // 10466 and 10902 bytes: shares 0.49 and 0.51, so the first layer is cut although it is the smaller.
  const PolicySpace space({"pair", {{"fc1", LayerKind::Dense, 100, 96, 1, 1}, {"fc2", LayerKind::Dense, 96, 104, 1, 1}}},
                          {}, {});
  EXPECT_EQ(policy_summary(memory_driven_policy(space, any_chip(), bytes(18, 100))), "4/8;8/8");
}

TEST(MemorySearch, PinnedLayersAndTheCellResolutionAreKept) {
  // Pinned first and last layers leave conv2 alone to cut: its weights to 2 bits, its input to 2 bits.
  EXPECT_EQ(policy_summary(memory_driven_policy(chain({2, 8, 0, true}), any_chip(), bytes(31.4, 5))), "8/8;2/2;8/8");
  // With 4-bit cells the weights stop at 4 bits and the ROM cannot be met.
  EXPECT_THROW(memory_driven_policy(chain({2, 8, 4, false}), any_chip(), bytes(10, 100)), ConfigError);
  EXPECT_EQ(policy_summary(memory_driven_policy(chain({2, 8, 4, false}), any_chip(), bytes(20, 100))), "8/8;8/8;4/8");
}

TEST(MemorySearch, FitsAChipTooSmallForW8A8) {
  const ChipSpec chip = load_chip("cimaq_default", {"hierarchy.crossbars_per_pe=7"});
  const Model model(spec_for_workload_name("lenet5-fmnist"));
  const PolicySpace space(model.workload(), model.geometry(), {});
  const auto crossbars = [&](const Policy& policy) {
    std::int64_t total = 0;
    for (std::size_t i = 0; i < policy.layers.size(); ++i) total += map_layer(chip, space.workload().layers[i], policy.layers[i]).crossbars;
    return total;
  };
  ASSERT_GT(crossbars(space.reference()), chip.crossbars_on_chip());
  const MemoryBounds bounds = memory_bounds({}, chip);
  EXPECT_TRUE(bounds.rom_in_crossbars);
  EXPECT_EQ(bounds.ram_bytes, 1024 * (chip.buffer.input_kib + chip.buffer.output_kib));
  const Policy policy = memory_driven_policy(space, chip, bounds);
  EXPECT_LE(crossbars(policy), chip.crossbars_on_chip());
  // Only fc1, the largest, had to give up weight bits.
  EXPECT_EQ(policy_summary(policy), "8/8;8/8;4/8;8/8;8/8");
}

class ConstantEvaluator : public AccuracyEvaluator {
 public:
  double accuracy(const Policy&) override {
    ++trainings;
    return 0.9;
  }
  int trainings = 0;
};

TEST(MemorySearch, ASearchEndsAfterItsOnePolicy) {
  const TempDir dir;
  const PolicySpace space = chain();
  const ChipSpec chip = load_chip("cimaq_default", {});
  const AnalyticalEngine engine(chip);
  AlgorithmOptions options;
  options.name = "memory";
  MemoryOptions& memory = dynamic_cast<ParametersOf<MemoryOptions>&>(options.parameters("memory")).values;
  memory.rom_kib = 20;
  memory.ram_kib = 100;
  const std::unique_ptr<SearchAlgorithm> algorithm = make_search_algorithm(options, {space, 0, &engine});
  SearchSettings settings;
  settings.episodes = 50;
  settings.out_dir = dir.file("run");
  settings.show_progress = false;
  settings.run_key = "memory";
  ConstantEvaluator evaluator;
  const SearchResult result = run_search(*algorithm, space, engine, evaluator, settings);
  ASSERT_FALSE(result.history.empty());
  EXPECT_EQ(result.history.back().kind, EvaluatedPolicy::Kind::Search);
  EXPECT_EQ(result.history.back().episode, 1);
  EXPECT_EQ(policy_summary(result.history.back().policy), "8/8;8/8;4/8");
  EXPECT_EQ(policy_summary(result.history[result.best].policy), "8/8;8/8;4/8");
}

}  // namespace
}  // namespace qxbar
