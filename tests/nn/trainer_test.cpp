#include "nn/trainer.h"

#include <gmock/gmock.h>

#include <fstream>
#include <functional>

#include "sim/core/errors.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using ::testing::HasSubstr;
using qxbar::testing::TempDir;

DataSplits synthetic_splits() {
  DataSplits splits;
  const Dataset all = synthetic_dataset(2100, 10, 1, 28, 11);
  splits.train = all.subset(torch::arange(0, 1800));
  splits.val = all.subset(torch::arange(1800, 2100));
  splits.test = synthetic_dataset(300, 10, 1, 28, 12);
  return splits;
}

TrainOptions quick_options(int epochs) {
  TrainOptions options;
  options.epochs = epochs;
  options.lr = 0.02;
  options.batch_size = 64;
  options.seed = 3;
  options.show_progress = false;
  return options;
}

CheckpointInfo info_for(const ModelSpec& spec, const std::string& key) {
  CheckpointInfo info;
  info.spec = spec;
  info.dataset = "synthetic";
  info.run_key = key;
  return info;
}

Model fresh_model(Bits bits) {
  torch::manual_seed(3);
  Model model(spec_for_dataset("lenet5", "synthetic"));
  model.set_policy(uniform_policy(model.workload(), bits));
  return model;
}

bool same_weights(Model& a, Model& b) {
  const auto left = a.network().named_parameters();
  const auto right = b.network().named_parameters();
  for (const auto& item : left) {
    if (!torch::equal(item.value(), right[item.key()])) return false;
  }
  return true;
}

TEST(Trainer, LearnsSeparableClassesUnderQuantization) {
  TempDir dir;
  Model model = fresh_model({4, 4});
  const TrainResult result = train(model, synthetic_splits(), quick_options(3), info_for(model.spec(), "a"), dir.file("model.pt"));
  EXPECT_GT(result.test_accuracy, 0.9);
  EXPECT_EQ(result.history.size(), 3u);
  EXPECT_LT(result.history.back().loss, result.history.front().loss);
}

TEST(Trainer, SameSeedSameRun) {
  TempDir dir;
  Model first = fresh_model({6, 5});
  Model second = fresh_model({6, 5});
  const TrainResult a = train(first, synthetic_splits(), quick_options(2), info_for(first.spec(), "a"), dir.file("a.pt"));
  const TrainResult b = train(second, synthetic_splits(), quick_options(2), info_for(second.spec(), "a"), dir.file("b.pt"));
  EXPECT_EQ(a.history.back().loss, b.history.back().loss);
  EXPECT_TRUE(same_weights(first, second));
}

TEST(Trainer, ResumedRunEndsLikeAnUninterruptedOne) {
  TempDir dir;
  Model whole = fresh_model({5, 6});
  train(whole, synthetic_splits(), quick_options(3), info_for(whole.spec(), "k"), dir.file("whole.pt"));

  // A three-epoch run killed after its first checkpoint: the checkpoint of epoch 1 of 3, saved by hand.
  {
    Model part = fresh_model({5, 6});
    TrainOptions all = quick_options(3);
    TrainOptions first_epoch_only = all;
    first_epoch_only.epochs = 1;
    train(part, synthetic_splits(), first_epoch_only, info_for(part.spec(), "k"), dir.file("resumed.pt"));
  }
  Model interrupted = fresh_model({5, 6});
  const TrainResult resumed =
      train(interrupted, synthetic_splits(), quick_options(3), info_for(interrupted.spec(), "k"), dir.file("resumed.pt"));
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.history.size(), 3u);
  Model whole_loaded = load_checkpoint(dir.file("whole.pt"));
  Model resumed_loaded = load_checkpoint(dir.file("resumed.pt"));
  EXPECT_EQ(read_checkpoint_info(dir.file("whole.pt")).history.back().loss, resumed.history.back().loss);
  EXPECT_TRUE(same_weights(whole_loaded, resumed_loaded));
}

TEST(Trainer, ADifferentRunInTheSameFolderIsRefused) {
  TempDir dir;
  Model model = fresh_model({8, 8});
  train(model, synthetic_splits(), quick_options(1), info_for(model.spec(), "one"), dir.file("model.pt"));
  Model other = fresh_model({8, 8});
  EXPECT_THAT(qxbar::testing::error_message<ConfigError>([&] {
                train(other, synthetic_splits(), quick_options(1), info_for(other.spec(), "two"), dir.file("model.pt"));
              }),
              HasSubstr("holds a different run"));
}

TEST(Trainer, CheckpointKeepsWeightsQuantizersAndPolicy) {
  TempDir dir;
  Model model = fresh_model({3, 7});
  const DataSplits data = synthetic_splits();
  train(model, data, quick_options(1), info_for(model.spec(), "a"), dir.file("model.pt"));
  Model loaded = load_checkpoint(dir.file("model.pt"));
  EXPECT_EQ(loaded.policy().layers, model.policy().layers);
  EXPECT_EQ(evaluate(loaded, data.test, 100), evaluate(model, data.test, 100));
}

TEST(Trainer, CheckpointKeepsThePolicysEnergiesPerCellRead) {
  TempDir dir;
  Model model = fresh_model({3, 7});
  Policy policy = model.policy();
  policy.layers.back().read_energy_fj_per_cell = 4.5;
  model.set_policy(policy);
  save_checkpoint(model, info_for(model.spec(), "a"), dir.file("model.pt"));
  EXPECT_EQ(load_checkpoint(dir.file("model.pt")).policy().layers, policy.layers);
}

// LeNet-5 with a weight step per output channel, at `policy` made for its workload.
Model per_channel_model(const std::function<Policy(const Workload&)>& policy) {
  torch::manual_seed(3);
  ModelSpec spec = spec_for_dataset("lenet5", "synthetic");
  spec.quant.per_channel = true;
  Model model(spec);
  model.set_policy(policy(model.workload()));
  return model;
}

// Every layer's channels at the width of a per-layer policy: the same policy written per channel.
Policy channels_of_one_width(const Workload& workload, Bits bits) {
  Policy policy;
  for (const LayerShape& layer : workload.layers) {
    policy.layers.push_back(Bits::per_channel(std::vector<int>(static_cast<std::size_t>(layer.output_dim), bits.w), bits.a));
  }
  return policy;
}

TEST(Trainer, APerChannelPolicyOfOneWidthTrainsAndComputesAsThePerLayerPolicy) {
  const DataSplits data = synthetic_splits();
  const Bits bits{4, 5};
  Model per_layer = per_channel_model([&](const Workload& workload) { return uniform_policy(workload, bits); });
  Model per_channel = per_channel_model([&](const Workload& workload) { return channels_of_one_width(workload, bits); });
  ASSERT_TRUE(per_channel.policy().is_per_channel());
  TempDir dir;
  const TrainResult a = train(per_layer, data, quick_options(1), info_for(per_layer.spec(), "a"), dir.file("a.pt"));
  const TrainResult b = train(per_channel, data, quick_options(1), info_for(per_channel.spec(), "b"), dir.file("b.pt"));
  EXPECT_EQ(a.test_accuracy, b.test_accuracy);
  EXPECT_TRUE(same_weights(per_layer, per_channel));
  per_layer.set_integer_arithmetic(true);
  per_channel.set_integer_arithmetic(true);
  EXPECT_EQ(evaluate(per_layer, data.test, 100), evaluate(per_channel, data.test, 100));
  const auto chip = std::make_shared<const ChipSpec>(load_chip("cimaq_default", {"adc.bits=5", "mapping=offset"}));
  per_layer.set_chip(chip);
  per_channel.set_chip(chip);
  EXPECT_EQ(evaluate(per_layer, data.test, 100), evaluate(per_channel, data.test, 100));
}

TEST(Trainer, CheckpointKeepsPerChannelWidths) {
  TempDir dir;
  Policy policy;
  Model model = per_channel_model([&](const Workload& workload) {
    policy = uniform_policy(workload, {8, 8});
    std::vector<int> widths;
    for (std::int64_t c = 0; c < workload.layers[1].output_dim; ++c) widths.push_back(c % 2 == 0 ? 2 : 6);
    policy.layers[1] = Bits::per_channel(widths, 4);
    return policy;
  });
  const DataSplits data = synthetic_splits();
  train(model, data, quick_options(1), info_for(model.spec(), "a"), dir.file("model.pt"));
  Model loaded = load_checkpoint(dir.file("model.pt"));
  EXPECT_EQ(loaded.policy().layers, policy.layers);
  EXPECT_EQ(evaluate(loaded, data.test, 100), evaluate(model, data.test, 100));
  // Fine-tuning the checkpoint at other widths starts its quantizers afresh where the widths changed.
  Model other = per_channel_model([](const Workload& workload) { return uniform_policy(workload, {8, 8}); });
  load_weights_from(other, dir.file("model.pt"));
  EXPECT_EQ(other.policy().layers, uniform_policy(model.workload(), {8, 8}).layers);
}

TEST(Trainer, ADamagedCheckpointIsRefusedNotEvaluated) {
  TempDir dir;
  Model model = fresh_model({8, 8});
  const std::string path = dir.file("model.pt");
  save_checkpoint(model, info_for(model.spec(), "a"), path);
  // The archive stores tensors uncompressed: zero the bytes of the first layer's weights in place, as a
  // damaged disk would, leaving the archive's layout (and its unchecked CRCs) as they were.
  const torch::Tensor weight = model.layer(0).weight().detach().contiguous();
  const std::string stored(static_cast<const char*>(weight.data_ptr()), weight.nbytes());
  std::string file = qxbar::testing::read_text(path);
  const std::size_t at = file.find(stored);
  ASSERT_NE(at, std::string::npos);
  file.replace(at, stored.size(), std::string(stored.size(), '\0'));
  std::ofstream(path, std::ios::binary | std::ios::trunc) << file;
  EXPECT_EQ(qxbar::testing::error_message<DataError>([&] { load_checkpoint(path); }),
            path + ": damaged checkpoint: its weights differ from those saved (digest mismatch)");
  Model target = fresh_model({8, 8});
  EXPECT_THROW(load_weights_from(target, path), DataError);
}

TEST(Trainer, DataMustFitTheCheckpointsNetwork) {
  const ModelSpec spec = spec_for_dataset("lenet5", "fmnist");
  Dataset cifar;
  cifar.name = "cifar10";
  cifar.images = torch::zeros({2, 3, 32, 32});
  cifar.labels = torch::zeros({2}, torch::kInt64);
  EXPECT_EQ(qxbar::testing::error_message<DataError>([&] { check_fits(spec, cifar, "m.pt"); }),
            "m.pt: a lenet5 for 1x28x28 images in 10 classes; cifar10 holds 3x32x32 images in 10 classes");
  Dataset fashion = cifar;
  fashion.images = torch::zeros({2, 1, 28, 28});
  EXPECT_NO_THROW(check_fits(spec, fashion, "m.pt"));
  fashion.classes = 11;
  EXPECT_THROW(check_fits(spec, fashion, "m.pt"), DataError);
}

TEST(Trainer, WeightsFromAnotherCheckpointMustFit) {
  TempDir dir;
  Model lenet = fresh_model({32, 32});
  save_checkpoint(lenet, info_for(lenet.spec(), "a"), dir.file("lenet.pt"));
  Model quantized = fresh_model({8, 8});
  load_weights_from(quantized, dir.file("lenet.pt"));
  EXPECT_TRUE(torch::equal(quantized.layer(0).weight(), lenet.layer(0).weight()));
  EXPECT_EQ(quantized.policy().layers.front(), (Bits{8, 8}));  // bits differ: quantizer state not copied

  Model other(spec_for_dataset("vgg-small", "synthetic"));
  EXPECT_THAT(qxbar::testing::error_message<DataError>([&] { load_weights_from(other, dir.file("lenet.pt")); }),
              HasSubstr("has no tensor"));
  dir.write("junk.pt", "not a checkpoint");
  EXPECT_THAT(qxbar::testing::error_message<DataError>([&] { load_checkpoint(dir.file("junk.pt")); }),
              HasSubstr("not a qxbar checkpoint"));
}

}  // namespace
}  // namespace qxbar
