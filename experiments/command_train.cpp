#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <filesystem>

#include "experiments/cli.h"
#include "nn/builtin_workloads.h"
#include "nn/trainer.h"
#include "sim/core/atomic_file.h"
#include "sim/core/file_lock.h"
#include "sim/core/fingerprint.h"

namespace qxbar::cli {

int run_train(const std::vector<std::string>& args) {
  DataCommandOptions data_options;
  ChipOptions chip_options;
  bool analog = false;
  NetworkOptions network;
  TrainOptions train_options;
  std::string out;
  std::string bits_text;
  std::string policy_path;
  bool fp32 = false;
  bool force_first_last = false;
  std::string from;
  const OptionSet network_flags = network_options(network);
  const OptionSet training_flags = training_options(train_options);
  po::options_description options("train options");
  add_options(options, network_flags);
  options.add_options()
      ("out", po::value(&out)->required(), "run folder: model.pt, metrics.json, policy.yaml/.npy; rerun to resume")
      ("bits", po::value(&bits_text), "uniform policy W,A, e.g. 8,8")
      ("policy", po::value(&policy_path), "per-layer policy: qxbar YAML or CIM-AQ .npy [layers, 2]")
      ("fp32", po::bool_switch(&fp32), "no quantization (the default when no policy is given)")
      ("force-first-last", po::bool_switch(&force_first_last), "keep the first and last layer at 8/8 bits")
      ("from", po::value(&from), "start from this checkpoint's weights (e.g. the FP32 run for INT8 training)")
      ("analog", po::bool_switch(&analog),
       "chip-aware training: forward passes compute as the chip (--hw, --set) does, gradients pass straight "
       "through its converters");
  add_options(options, training_flags);
  chip_options.add_to(options);
  data_options.add_to(options);
  po::variables_map values;
  if (!parse_command_line("train", args, options, values)) return 0;
  if (static_cast<int>(values.count("bits")) + static_cast<int>(values.count("policy")) + (fp32 ? 1 : 0) > 1) {
    throw ConfigError("train: give at most one of --bits, --policy and --fp32");
  }
  check_flags(network_flags);
  check_flags(training_flags);
  if (!analog && (!values["hw"].defaulted() || values.count("set") != 0)) {
    throw ConfigError("train: --hw and --set describe the chip of --analog; give --analog too");
  }
  // The run folder and the chip description are checked before any data is read or trained on; the lock
  // keeps a second training out of the folder while this one resumes or writes it.
  const FileLock lock(out + "/train", out);
  const auto chip = analog ? std::make_shared<const ChipSpec>(chip_options.load()) : nullptr;

  const DataSplits data = data_options.load(train_options.seed);
  const std::string& dataset = data_options.data.name;
  ModelSpec spec = spec_for_dataset(network.architecture, dataset);
  spec.classes = data.train.classes;
  spec.width = network.width;
  spec.quant = quant_options(network.quantizer, network.per_channel, network.batch_norm);
  torch::manual_seed(train_options.seed);
  Model model(spec);

  Policy policy = uniform_policy(model.workload(), {kFloatBits, kFloatBits});
  if (values.count("bits") != 0) policy = uniform_policy(model.workload(), parse_bits(bits_text, "--bits"));
  if (values.count("policy") != 0) policy = load_policy(policy_path, model.workload());
  if (force_first_last && policy.layers.front().w != kFloatBits) {
    for (Bits* end : {&policy.layers.front(), &policy.layers.back()}) *end = Bits{8, 8, end->read_energy_fj_per_cell};
  }
  model.set_policy(policy);
  std::string from_key;
  if (!from.empty()) {
    note_input_file(from);
    from_key = read_checkpoint_info(from).run_key;
    load_weights_from(model, from);
  }

  CheckpointInfo info;
  info.spec = spec;
  info.dataset = dataset;
  if (analog) {
    if (policy.layers.front().w == kFloatBits) throw ConfigError("train: --analog needs a quantized policy (--bits or --policy)");
    put_on_chip(model, chip, data.train, train_options.batch_size);
    info.chip_name = chip->name;
    info.chip_fingerprint = chip->fingerprint;
  }
  info.run_key = fingerprint_hex(nlohmann::json{{"network", run_key_json(network_flags)},
                                                {"data", run_key_json(qxbar::data_options(data_options.data))},
                                                {"training", run_key_json(training_flags)},
                                                {"policy", policy_summary(policy)},
                                                {"from", from_key},
                                                {"chip", info.chip_fingerprint}}
                                     .dump());
  spdlog::info("training {} on {} ({} images, {} for validation) with policy {}", network.architecture, dataset,
               data.train.size(), data.val.size(), policy_summary(policy));
  const TrainResult result = train(model, data, train_options, info, out + "/model.pt");
  if (result.resumed && result.resumed_from.epoch >= 0) {
    spdlog::info("resumed from {}/model.pt in epoch {} after batch {}", out, result.resumed_from.epoch + 1,
                 result.resumed_from.batches);
  } else if (result.resumed) {
    spdlog::info("resumed from {}/model.pt", out);
  }
  write_policy_files(out + "/policy", model.workload(), model.policy());
  write_file_atomically(out + "/metrics.json", metrics_json(result, model, dataset));
  std::printf("%s: test accuracy %.4f, validation accuracy %.4f after %zu epochs (%s)\n", out.c_str(),
              result.test_accuracy, result.val_accuracy, result.history.size(), policy_summary(model.policy()).c_str());
  return 0;
}

int run_eval(const std::vector<std::string>& args) {
  DataCommandOptions data_options;
  ChipOptions chip_options;
  std::string checkpoint;
  std::string policy_path;
  std::string json_path;
  ChipTestOptions test_options;
  bool integer = false;
  bool analog = false;
  const OptionSet test_flags = chip_test_options(test_options);
  po::options_description options("eval options");
  options.add_options()
      ("ckpt", po::value(&checkpoint)->required(), "checkpoint (model.pt) written by qxbar train")
      ("policy", po::value(&policy_path), "evaluate under this policy instead of the checkpoint's (recalibrates)")
      ("integer", po::bool_switch(&integer),
       "also fold batch norms and evaluate with integer matrix products and fixed-point rescaling")
      ("analog", po::bool_switch(&analog),
       "evaluate as the chip (--hw, --set) computes: folded batch norms, sliced weights, input bit-planes, row "
       "groups and converters; test_accuracy is then the chip's")
      ("json", po::value(&json_path), "where to write the accuracy (default: eval.json beside the checkpoint)");
  add_options(options, test_flags);
  chip_options.add_to(options);
  data_options.add_to(options);
  po::variables_map values;
  if (!parse_command_line("eval", args, options, values)) return 0;
  check_flags(test_flags);
  if (!analog && !values["noise-seeds"].defaulted()) throw ConfigError("eval: --noise-seeds needs --analog");
  if (!analog && (!values["hw"].defaulted() || values.count("set") != 0)) {
    throw ConfigError("eval: --hw and --set describe the chip of --analog; give --analog too");
  }
  const auto chip = analog ? std::make_shared<const ChipSpec>(chip_options.load()) : nullptr;

  note_input_file(checkpoint);
  Model model = load_checkpoint(checkpoint);
  if (values["data"].defaulted()) data_options.data.name = read_checkpoint_info(checkpoint).dataset;
  if (values.count("policy") != 0) model.set_policy(load_policy(policy_path, model.workload()));
  DataSplits data = data_options.load(0);
  data.test = data.test.first(test_options.test_images);
  check_fits(model.spec(), data.test, checkpoint);
  const double accuracy = evaluate(model, data.test, test_options.batch_size);
  if (json_path.empty()) json_path = (std::filesystem::path(checkpoint).parent_path() / "eval.json").string();
  nlohmann::ordered_json result = {{"checkpoint", checkpoint},
                                   {"dataset", data_options.data.name},
                                   {"policy", policy_summary(model.policy())},
                                   {"test_images", data.test.size()},
                                   {"test_accuracy", accuracy}};
  std::printf("test accuracy %.4f (%s, %lld images)\n", accuracy, policy_summary(model.policy()).c_str(),
              static_cast<long long>(data.test.size()));
  if (integer) {
    Model deployed = fold_batch_norm(model);
    const double folded = evaluate(deployed, data.test, test_options.batch_size);
    deployed.set_integer_arithmetic(true);
    const double integer_accuracy = evaluate(deployed, data.test, test_options.batch_size);
    result["folded_test_accuracy"] = folded;
    result["integer_test_accuracy"] = integer_accuracy;
    std::printf("batch norm folded: %.4f fake-quantized, %.4f with integer arithmetic\n", folded, integer_accuracy);
  }
  if (analog) {
    Model deployed = fold_batch_norm(model);
    const ChipAccuracy on_chip =
        evaluate_on_chip(deployed, chip, data, test_options);
    result["ideal_test_accuracy"] = accuracy;
    result["test_accuracy"] = on_chip.mean;
    result["test_accuracy_std"] = on_chip.std;
    result["noise_seeds"] = on_chip.seeds;
    result["chip"] = {{"name", chip->name}, {"fingerprint", chip->fingerprint}};
    std::printf("on %s: test accuracy %.4f", chip->name.c_str(), on_chip.mean);
    if (on_chip.seeds > 1) std::printf(" +- %.4f over %d noise seeds", on_chip.std, on_chip.seeds);
    std::printf(" (ideal arithmetic %.4f)\n", accuracy);
  }
  write_file_atomically(json_path, result.dump(2) + "\n");
  return 0;
}

int run_workload(const std::vector<std::string>& args) {
  std::string net;
  std::string out;
  std::int64_t input_size = 0;
  po::options_description options("workload options");
  options.add_options()
      ("net", po::value(&net)->required(), "network on a dataset's geometry, e.g. resnet18-imagenet, mobilenetv2-cifar10")
      ("input-size", po::value(&input_size)->default_value(0), "square input size in pixels (0: the dataset's)")
      ("out", po::value(&out)->required(), "CIM-AQ layer-dimension file to write (YAML)");
  po::variables_map values;
  if (!parse_command_line("workload", args, options, values)) return 0;
  if (input_size < 0) throw ConfigError("--input-size " + std::to_string(input_size) + ": must be positive");
  ModelSpec spec = [&] {
    try {
      return spec_for_workload_name(net);
    } catch (const ConfigError& error) {
      throw ConfigError("--net " + net + ": " + error.what());
    }
  }();
  if (input_size > 0) spec.input_size = input_size;
  Workload workload = Model(spec).workload();
  workload.name = net;
  write_file_atomically(out, cimaq_layer_file_text(workload));
  std::printf("%s: %zu layers of %s\n", out.c_str(), workload.layers.size(), net.c_str());
  return 0;
}

}  // namespace qxbar::cli
