#include "nn/trainer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "sim/core/atomic_file.h"
#include "sim/core/errors.h"
#include "sim/core/fingerprint.h"
#include "sim/crossbar_arithmetic.h"
#include "sim/core/progress.h"

namespace qxbar {
namespace {

using Clock = std::chrono::steady_clock;

// The archive entry holding the policy's summary when it sets energies per cell read.
constexpr const char* kPolicyEntry = "policy";
// The archive entry holding weights_digest of the saved network. LibTorch does not check the CRCs of the
// archive's members, so without it a damaged file would load and compute nonsense.
constexpr const char* kDigestEntry = "weights_digest";

// Checkpoints name their quantizer; older ones named the weight and activation rules instead.
const Quantizer& quantizer_of(const nlohmann::json& spec, const std::string& path) {
  if (spec.contains("quantizer")) {
    const auto name = spec.at("quantizer").get<std::string>();
    if (const Quantizer* quantizer = quantizers().find(name)) return *quantizer;
    throw DataError(path + ": " + quantizers().unknown(name));
  }
  const auto weights = spec.at("weight_quantizer").get<std::string>();
  const auto activations = spec.at("activation_quantizer").get<std::string>();
  for (const Quantizer& quantizer : quantizers().entries()) {
    if (weights == quantizer.weights.name && activations == quantizer.activations.name) return quantizer;
  }
  throw DataError(path + ": no quantizer quantizes weights by " + weights + " and activations by " + activations);
}

nlohmann::json spec_json(const ModelSpec& spec) {
  return {{"architecture", spec.architecture},
          {"in_channels", spec.in_channels},
          {"classes", spec.classes},
          {"input_size", spec.input_size},
          {"width", spec.width},
          {"quantizer", spec.quant.quantizer->name},
          {"per_channel", spec.quant.per_channel},
          {"fold_batch_norm", spec.quant.fold_batch_norm}};
}

ModelSpec spec_from_json(const nlohmann::json& json, const std::string& path) {
  ModelSpec spec;
  spec.architecture = json.at("architecture").get<std::string>();
  spec.in_channels = json.at("in_channels").get<std::int64_t>();
  spec.classes = json.at("classes").get<std::int64_t>();
  spec.input_size = json.at("input_size").get<std::int64_t>();
  spec.width = json.at("width").get<double>();
  spec.quant.quantizer = &quantizer_of(json, path);
  spec.quant.per_channel = json.at("per_channel").get<bool>();
  // Checkpoints older than folding in training were trained with separate batch norms.
  spec.quant.fold_batch_norm = json.value("fold_batch_norm", false);
  return spec;
}

// Finds a tensor by its dotted module path in the nested archives Module::save writes.
bool read_tensor(torch::serialize::InputArchive& archive, const std::string& dotted, torch::Tensor& tensor, bool is_buffer) {
  const std::size_t dot = dotted.find('.');
  if (dot == std::string::npos) return archive.try_read(dotted, tensor, is_buffer);
  torch::serialize::InputArchive child;
  if (!archive.try_read(dotted.substr(0, dot), child)) return false;
  return read_tensor(child, dotted.substr(dot + 1), tensor, is_buffer);
}

torch::serialize::InputArchive open_archive(const std::string& path) {
  if (!std::filesystem::exists(path)) throw DataError(path + ": no such checkpoint");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(path);
  } catch (const c10::Error& error) {
    throw DataError(path + ": not a qxbar checkpoint (" + error.what_without_backtrace() + ")");
  }
  return archive;
}

}  // namespace

void set_cosine_learning_rate(torch::optim::SGD& optimizer, double initial_lr, int epoch, int epochs) {
  const double lr = 0.5 * initial_lr * (1 + std::cos(M_PI * epoch / epochs));
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
}

namespace {

nlohmann::json history_json(const std::vector<EpochRecord>& history) {
  nlohmann::json records = nlohmann::json::array();
  for (const EpochRecord& record : history) {
    records.push_back({{"epoch", record.epoch},
                       {"loss", record.loss},
                       {"train_accuracy", record.train_accuracy},
                       {"val_accuracy", record.val_accuracy},
                       {"seconds", record.seconds},
                       {"images_per_second", record.images_per_second}});
  }
  return records;
}

}  // namespace

std::string checkpoint_info_json(const CheckpointInfo& info) {
  return nlohmann::json{{"spec", spec_json(info.spec)},
                        {"dataset", info.dataset},
                        {"run_key", info.run_key},
                        {"chip", {{"name", info.chip_name}, {"fingerprint", info.chip_fingerprint}}},
                        {"epochs_planned", info.epochs_planned},
                        {"history", history_json(info.history)},
                        {"partial_epoch",
                         {{"epoch", info.partial.epoch},
                          {"batches", info.partial.batches},
                          {"loss_sum", info.partial.loss_sum},
                          {"correct", info.partial.correct},
                          {"seconds", info.partial.seconds}}}}
      .dump();
}

std::string metrics_json(const TrainResult& result, const Model& model, const std::string& dataset) {
  nlohmann::ordered_json metrics = {{"network", model.spec().architecture},
                                    {"dataset", dataset},
                                    {"policy", policy_summary(model.policy())},
                                    {"test_accuracy", result.test_accuracy},
                                    {"val_accuracy", result.val_accuracy},
                                    {"epochs", result.history.size()}};
  metrics["history"] = history_json(result.history);
  return metrics.dump(2) + "\n";
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  torch::serialize::InputArchive archive = open_archive(path);
  c10::IValue value;
  if (!archive.try_read("info", value) || !value.isString()) throw DataError(path + ": not a qxbar checkpoint (no record)");
  try {
    const nlohmann::json json = nlohmann::json::parse(value.toStringRef());
    CheckpointInfo info;
    info.spec = spec_from_json(json.at("spec"), path);
    info.dataset = json.at("dataset").get<std::string>();
    info.run_key = json.at("run_key").get<std::string>();
    if (const auto chip = json.find("chip"); chip != json.end()) {
      info.chip_name = chip->at("name").get<std::string>();
      info.chip_fingerprint = chip->at("fingerprint").get<std::string>();
    }
    info.epochs_planned = json.at("epochs_planned").get<int>();
    for (const nlohmann::json& record : json.at("history")) {
      info.history.push_back({record.at("epoch").get<int>(), record.at("loss").get<double>(),
                              record.at("train_accuracy").get<double>(), record.at("val_accuracy").get<double>(),
                              record.at("seconds").get<double>(), record.at("images_per_second").get<double>()});
    }
    if (const auto partial = json.find("partial_epoch"); partial != json.end()) {
      info.partial = {partial->at("epoch").get<int>(), partial->at("batches").get<std::int64_t>(),
                      partial->at("loss_sum").get<double>(), partial->at("correct").get<std::int64_t>(),
                      partial->at("seconds").get<double>()};
    }
    return info;
  } catch (const nlohmann::json::exception& error) {
    throw DataError(path + ": damaged checkpoint record: " + error.what());
  }
}

void save_checkpoint(Model& model, const CheckpointInfo& info, const std::string& path, torch::optim::Optimizer* optimizer) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive weights;
  model.network().save(weights);
  archive.write("model", weights);
  if (optimizer != nullptr) {
    torch::serialize::OutputArchive state;
    optimizer->save(state);
    archive.write("optimizer", state);
  }
  archive.write("info", c10::IValue(checkpoint_info_json(info)));
  archive.write(kDigestEntry, c10::IValue(weights_digest(model)));
  // Bits live in the quantizers' state; energies per cell read only in the policy.
  const Policy policy = model.policy();
  if (std::any_of(policy.layers.begin(), policy.layers.end(), [](const Bits& bits) { return bits.read_energy_fj_per_cell; })) {
    archive.write(kPolicyEntry, c10::IValue(policy_summary(policy)));
  }
  write_file_atomically(path, [&](const std::string& temporary) {
    try {
      archive.save_to(temporary);
    } catch (const c10::Error& error) {
      throw DataError(path + ": cannot write: " + error.what_without_backtrace());
    }
  });
}

std::string weights_digest(Model& model) {
  std::string digests;
  const auto add = [&digests](const std::string& name, const torch::Tensor& tensor) {
    const torch::Tensor bytes = tensor.detach().to(torch::kCPU).contiguous();
    digests += name + " " + c10::str(bytes.scalar_type(), bytes.sizes()) + " " +
               fingerprint_hex({static_cast<const char*>(bytes.data_ptr()), bytes.nbytes()}) + "\n";
  };
  for (const auto& item : model.network().named_parameters()) add(item.key(), item.value());
  for (const auto& item : model.network().named_buffers()) add(item.key(), item.value());
  return fingerprint_hex(digests);
}

Model load_checkpoint(const std::string& path) {
  const CheckpointInfo info = read_checkpoint_info(path);
  Model model(info.spec);
  torch::serialize::InputArchive archive = open_archive(path);
  torch::serialize::InputArchive weights;
  if (!archive.try_read("model", weights)) throw DataError(path + ": checkpoint holds no model");
  try {
    model.network().load(weights);
  } catch (const c10::Error& error) {
    throw DataError(path + ": checkpoint does not fit " + info.spec.architecture + ": " + error.what_without_backtrace());
  }
  c10::IValue digest;
  if (archive.try_read(kDigestEntry, digest) && (!digest.isString() || digest.toStringRef() != weights_digest(model))) {
    throw DataError(path + ": damaged checkpoint: its weights differ from those saved (digest mismatch)");
  }
  c10::IValue saved;
  if (archive.try_read(kPolicyEntry, saved)) {
    if (!saved.isString()) throw DataError(path + ": damaged checkpoint: its policy is not text");
    const Policy energies = parse_policy_summary(saved.toStringRef(), path + ": policy");
    Policy policy = model.policy();
    if (energies.layers.size() != policy.layers.size()) {
      throw DataError(path + ": damaged checkpoint: its policy has " + std::to_string(energies.layers.size()) +
                      " layers, the network " + std::to_string(policy.layers.size()));
    }
    for (std::size_t i = 0; i < policy.layers.size(); ++i) {
      policy.layers[i].read_energy_fj_per_cell = energies.layers[i].read_energy_fj_per_cell;
    }
    model.set_policy(policy);
  }
  return model;
}

void load_weights_from(Model& model, const std::string& path) {
  load_checkpoint(path);  // checks the file whole before any of it is used
  torch::serialize::InputArchive archive = open_archive(path);
  torch::serialize::InputArchive weights;
  if (!archive.try_read("model", weights)) throw DataError(path + ": checkpoint holds no model");
  torch::NoGradGuard no_grad;
  const auto copy = [&](const std::string& name, torch::Tensor& target, bool is_buffer) {
    torch::Tensor stored;
    if (!read_tensor(weights, name, stored, is_buffer)) {
      throw DataError(path + ": has no tensor " + name + " (made for another network?)");
    }
    if (stored.sizes() != target.sizes()) {
      throw DataError(path + ": " + name + " has shape " + c10::str(stored.sizes()) + ", the network needs " +
                      c10::str(target.sizes()));
    }
    target.copy_(stored);
  };
  // Quantizer state carries over only where the bits are unchanged (and weight steps only where they were
  // learned on weights folded the same way); elsewhere it is calibrated afresh.
  const bool same_folding = read_checkpoint_info(path).spec.quant.fold_batch_norm == model.spec().quant.fold_batch_norm;
  std::map<std::string, bool> same_bits;
  for (auto& item : model.network().named_buffers()) {
    const std::string& name = item.key();
    if (name.size() < 5 || name.compare(name.size() - 5, 5, ".bits") != 0) continue;
    torch::Tensor stored;
    const std::string quantizer = name.substr(0, name.size() - 5);
    const bool weights_as_before = same_folding || quantizer.find("weight_quantizer") == std::string::npos;
    same_bits[quantizer] = weights_as_before && read_tensor(weights, name, stored, true) && torch::equal(stored, item.value());
  }
  const auto quantizer_of = [](const std::string& name) -> std::string {
    const std::size_t marker = name.find("quantizer.");
    return marker == std::string::npos ? "" : name.substr(0, name.find('.', marker));
  };
  for (auto& item : model.network().named_parameters()) {
    const std::string quantizer = quantizer_of(item.key());
    if (quantizer.empty() || same_bits[quantizer]) copy(item.key(), item.value(), false);
  }
  for (auto& item : model.network().named_buffers()) {
    const std::string quantizer = quantizer_of(item.key());
    if (quantizer.empty() || same_bits[quantizer]) copy(item.key(), item.value(), true);
  }
}

void check_fits(const ModelSpec& spec, const Dataset& data, const std::string& checkpoint) {
  const auto shape = [](std::int64_t channels, std::int64_t height, std::int64_t width) {
    return std::to_string(channels) + "x" + std::to_string(height) + "x" + std::to_string(width);
  };
  const std::string expected = shape(spec.in_channels, spec.input_size, spec.input_size);
  const std::string found = data.images.defined() ? shape(data.images.size(1), data.images.size(2), data.images.size(3)) : expected;
  if (found != expected || data.classes > spec.classes) {
    throw DataError(checkpoint + ": a " + spec.architecture + " for " + expected + " images in " + std::to_string(spec.classes) +
                    " classes; " + data.name + " holds " + found + " images in " + std::to_string(data.classes) + " classes");
  }
}

double evaluate(Model& model, const Dataset& data, std::int64_t batch_size) {
  if (data.size() == 0) return -1;
  const torch::NoGradGuard no_grad;
  const bool was_training = model.network().is_training();
  model.network().eval();
  // Large images (224 x 224) in batches of hundreds would need gigabytes of activations.
  constexpr std::int64_t kValuesPerBatch = 64 * 3 * 224 * 224;
  const std::int64_t values_per_image = data.folder ? 3 * data.image_size * data.image_size : data.images[0].numel();
  const std::int64_t step = std::clamp<std::int64_t>(kValuesPerBatch / values_per_image, 1, batch_size);
  std::int64_t correct = 0;
  for (std::int64_t start = 0; start < data.size(); start += step) {
    const std::int64_t count = std::min(step, data.size() - start);
    const torch::Tensor indices = torch::arange(start, start + count, torch::kInt64);
    const torch::Tensor logits = model.forward(data.inputs(indices));
    correct += logits.argmax(1).eq(data.labels.index_select(0, indices)).sum().item<std::int64_t>();
  }
  model.network().train(was_training);
  return static_cast<double>(correct) / static_cast<double>(data.size());
}

void put_on_chip(Model& model, const std::shared_ptr<const ChipSpec>& chip, const Dataset& calibration,
                 std::int64_t batch_size, std::int64_t calibration_images) {
  model.set_chip(chip);
  if (chip == nullptr || chip->adc.range != AdcRange::Calibrated) return;
  model.set_calibrating(true);
  evaluate(model, calibration.first(calibration_images), batch_size);
  model.set_calibrating(false);
}

ChipAccuracy evaluate_on_chip(Model& model, const std::shared_ptr<const ChipSpec>& chip, const DataSplits& data,
                              const ChipTestOptions& options) {
  if (options.noise_seeds < 1) throw std::invalid_argument("evaluate_on_chip: at least one noise seed");
  const Dataset test = data.test.first(options.test_images);
  ChipAccuracy result;
  const bool noisy = analog_noise(*chip, model.policy().layers.front()).any();
  result.seeds = noisy ? options.noise_seeds : 1;
  std::vector<double> accuracies;
  for (int seed = 0; seed < result.seeds; ++seed) {
    if (noisy) torch::manual_seed(static_cast<std::uint64_t>(seed));
    put_on_chip(model, chip, data.train, options.batch_size, options.calibration_images);
    accuracies.push_back(evaluate(model, test, options.batch_size));
  }
  for (const double accuracy : accuracies) result.mean += accuracy / result.seeds;
  if (result.seeds > 1) {
    double squares = 0;
    for (const double accuracy : accuracies) squares += (accuracy - result.mean) * (accuracy - result.mean);
    result.std = std::sqrt(squares / (result.seeds - 1));
  }
  return result;
}

OptionSet chip_test_options(ChipTestOptions& options) {
  using C = ChipTestOptions;
  static const std::vector<Option<ChipTestOptions>> table = {
      {"test_images", "test-images", "evaluate on the first N test images (0: all of them)", &C::test_images, {0}},
      {"calibration_images", "calibration-images",
       "training images that fit the converters' ranges when adc.range is calibrated", &C::calibration_images, {1}},
      // Part of a result: the first batch fits the activation steps of layers whose bits a policy changed.
      {"batch_size", "batch-size", "images per forward pass", &C::batch_size, {1}},
      {"noise_seeds", "noise-seeds",
       "on a chip with noise: program and evaluate the chip this many times, noise seeds 0 to N-1, and report "
       "the mean (and standard deviation)", &C::noise_seeds, {1}},
  };
  return bind_options(table, options);
}

OptionSet training_options(TrainOptions& options) {
  using T = TrainOptions;
  static const std::vector<Option<TrainOptions>> table = {
      {"epochs", "epochs", "training epochs", &T::epochs, {1}},
      {"lr", "lr", "initial learning rate (SGD, momentum 0.9, cosine)", &T::lr, {0, 1e3, true}},
      {"batch_size", "batch-size", "images per step", &T::batch_size, {1}},
      {"checkpoint_minutes", "checkpoint-minutes",
       "also save a checkpoint within an epoch this often (0: after every batch); a rerun resumes there",
       &T::checkpoint_minutes, {0}, nullptr, false},
      {"seed", "seed", "seed of initialisation, order and split", &T::seed, {0}},
  };
  return bind_options(table, options);
}

TrainResult train(Model& model, const DataSplits& data, const TrainOptions& options, const CheckpointInfo& info_in,
                  const std::string& checkpoint_path) {
  CheckpointInfo info = info_in;
  info.epochs_planned = options.epochs;
  TrainResult result;
  const bool resuming = !checkpoint_path.empty() && std::filesystem::exists(checkpoint_path);
  if (resuming) {
    const CheckpointInfo saved = read_checkpoint_info(checkpoint_path);
    if (saved.run_key != info.run_key) {
      throw ConfigError(checkpoint_path + ": holds a different run (other network, data or settings); choose another "
                        "--out or remove it");
    }
    model = load_checkpoint(checkpoint_path);
    info.history = saved.history;
    info.partial = saved.partial;
    result.resumed = !saved.history.empty() || saved.partial.epoch >= 0;
    result.resumed_from = saved.partial;
  }
  torch::optim::SGD optimizer(model.network().parameters(), torch::optim::SGDOptions(options.lr)
                                                                .momentum(options.momentum)
                                                                .weight_decay(options.weight_decay));
  if (resuming) {
    torch::serialize::InputArchive archive = open_archive(checkpoint_path);
    torch::serialize::InputArchive state;
    if (archive.try_read("optimizer", state)) optimizer.load(state);
  }

  const std::int64_t images = data.train.size();
  for (int epoch = static_cast<int>(info.history.size()); epoch < options.epochs; ++epoch) {
    set_cosine_learning_rate(optimizer, options.lr, epoch, options.epochs);
    const SeededEpoch batches(data.train, options.batch_size, options.seed, epoch);
    model.network().train();
    EpochProgress so_far;
    if (info.partial.epoch == epoch) so_far = info.partial;
    so_far.epoch = epoch;
    Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(options.epochs), images, "img",
                      std::min(images, so_far.batches * options.batch_size));
    const auto started = Clock::now() - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(so_far.seconds));
    auto saved = Clock::now();
    for (std::int64_t batch = so_far.batches; batch < batches.batches(); ++batch) {
      const SeededEpoch::Batch drawn = batches.batch(batch);
      const torch::Tensor& labels = drawn.labels;
      const torch::Tensor logits = model.forward(drawn.inputs);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, labels);
      const double batch_loss = loss.item<double>();
      if (!std::isfinite(batch_loss)) {
        throw DivergedError("training diverged in epoch " + std::to_string(epoch + 1) + ", batch " +
                            std::to_string(batch + 1) + " (loss " + std::to_string(batch_loss) +
                            "); lower the learning rate");
      }
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      so_far.loss_sum += batch_loss * static_cast<double>(drawn.size);
      so_far.correct += logits.argmax(1).eq(labels).sum().item<std::int64_t>();
      so_far.batches = batch + 1;
      if (options.show_progress) {
        progress.update(drawn.seen, "loss " + std::to_string(so_far.loss_sum / static_cast<double>(drawn.seen)).substr(0, 6));
      }
      const auto now = Clock::now();
      if (!checkpoint_path.empty() && so_far.batches < batches.batches() &&
          std::chrono::duration<double>(now - saved).count() >= 60 * options.checkpoint_minutes) {
        so_far.seconds = std::chrono::duration<double>(now - started).count();
        info.partial = so_far;
        save_checkpoint(model, info, checkpoint_path, &optimizer);
        saved = Clock::now();
      }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    EpochRecord record{epoch + 1, so_far.loss_sum / static_cast<double>(images),
                       static_cast<double>(so_far.correct) / static_cast<double>(images),
                       evaluate(model, data.val, 512), seconds, static_cast<double>(images) / seconds};
    if (options.show_progress) {
      char status[128];
      std::snprintf(status, sizeof status, "loss %.4f, train %.4f", record.loss, record.train_accuracy);
      std::string line = status;
      if (record.val_accuracy >= 0) line += ", val " + std::to_string(record.val_accuracy).substr(0, 6);
      progress.finish(line);
    }
    info.history.push_back(record);
    info.partial = EpochProgress{};
    if (!checkpoint_path.empty()) save_checkpoint(model, info, checkpoint_path, &optimizer);
  }
  result.history = info.history;
  // The model is the one the last epoch validated, unless no epoch ran.
  result.val_accuracy = info.history.empty() ? evaluate(model, data.val, 512) : info.history.back().val_accuracy;
  result.test_accuracy = evaluate(model, data.test, 512);
  return result;
}

}  // namespace qxbar
