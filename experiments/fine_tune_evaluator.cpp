#include "experiments/fine_tune_evaluator.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "nn/importance.h"
#include "nn/learned_bits.h"
#include "sim/core/atomic_file.h"
#include "sim/core/errors.h"
#include "sim/core/fingerprint.h"

namespace qxbar {
namespace {

nlohmann::json steps_json(const std::map<int, double>& steps) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [bits, step] : steps) object[std::to_string(bits)] = step;
  return object;
}

std::map<int, double> steps_from(const nlohmann::json& object) {
  std::map<int, double> steps;
  for (const auto& [bits, step] : object.items()) steps[std::stoi(bits)] = step.get<double>();
  return steps;
}

nlohmann::json layers_json(const std::vector<LayerIndicators>& layers) {
  nlohmann::json json = nlohmann::json::array();
  for (const LayerIndicators& layer : layers) {
    json.push_back({{"weights", steps_json(layer.weights)}, {"activations", steps_json(layer.activations)}});
  }
  return json;
}

std::vector<LayerIndicators> layers_from(const nlohmann::json& json) {
  std::vector<LayerIndicators> layers;
  for (const nlohmann::json& layer : json) layers.push_back({steps_from(layer.at("weights")), steps_from(layer.at("activations"))});
  return layers;
}

// A JSON file this evaluator wrote, read by `read`; DataError naming the file when it is not `what`.
template <class Read>
auto read_stored(const std::string& path, const std::string& what, Read read) -> decltype(read(nlohmann::json())) {
  note_input_file(path);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) throw DataError(path + ": cannot be read");
  try {
    return read(nlohmann::json::parse(text.str()));
  } catch (const DataError&) {
    throw;
  } catch (const std::exception& error) {
    throw DataError(path + ": not " + what + " (" + error.what() + ")");
  }
}

struct StoredIndicators {
  std::string key;
  std::vector<LayerIndicators> layers;
};

StoredIndicators read_indicators(const std::string& path) {
  return read_stored(path, "a LIMPQ indicator file", [](const nlohmann::json& json) {
    return StoredIndicators{json.at("key").get<std::string>(), layers_from(json.at("layers"))};
  });
}

// The learned widths stored in `path` when they were learned under `key`.
std::optional<LearnedWidths> read_learned_widths(const std::string& path, const std::string& key) {
  return read_stored(path, "a learned-widths file", [&](const nlohmann::json& json) -> std::optional<LearnedWidths> {
    if (json.at("key").get<std::string>() != key) return std::nullopt;
    return LearnedWidths{parse_policy_summary(json.at("policy").get<std::string>(), path),
                         json.at("weight_bits").get<double>(),
                         json.at("activation_bits").get<double>(),
                         json.at("val_accuracy").get<double>(),
                         json.at("epoch").get<int>(),
                         json.at("meets_targets").get<bool>()};
  });
}

}  // namespace

std::string encode_indicators(const std::vector<LayerIndicators>& layers) { return layers_json(layers).dump(); }

std::vector<LayerIndicators> decode_indicators(const std::string& text) { return layers_from(nlohmann::json::parse(text)); }

FineTuneEvaluator::FineTuneEvaluator(std::string checkpoint, DataSplits data, TrainOptions options,
                                     std::shared_ptr<const ChipSpec> chip, std::string results_folder)
    : results_folder_(std::move(results_folder)),
      checkpoint_(std::move(checkpoint)),
      info_(read_checkpoint_info(checkpoint_)),
      data_(std::move(data)),
      options_(options),
      chip_(std::move(chip)) {
  if (data_.val.size() == 0) throw ConfigError("--val-size: a search validates every policy, give it images (e.g. 5000)");
  // The test set stays untouched until the chosen policy is fine-tuned for good.
  data_.test = Dataset{};
  show_progress_ = options_.show_progress;  // indicator training takes long enough to show
  options_.show_progress = false;
}

double FineTuneEvaluator::accuracy(const Policy& policy) {
  torch::manual_seed(options_.seed);
  Model model(info_.spec);
  model.set_policy(policy);
  load_weights_from(model, checkpoint_);
  if (chip_) put_on_chip(model, chip_, data_.train, options_.batch_size);
  CheckpointInfo info = info_;
  info.history.clear();
  return train(model, data_, options_, info, "").val_accuracy;
}

std::string FineTuneEvaluator::result_key(const nlohmann::json& request) const {
  // The thread count shapes float reductions, so results trained with another count may differ.
  return fingerprint_hex(nlohmann::json{{"checkpoint", {info_.run_key, info_.history.size()}},
                                        {"data", {data_.train.name, data_.train.size()}},
                                        {"seed", options_.seed},
                                        {"batch_size", options_.batch_size},
                                        {"threads", torch::get_num_threads()},
                                        {"request", request}}
                             .dump());
}

std::string FineTuneEvaluator::results_file(const char* name) const {
  return results_folder_.empty() ? "" : (std::filesystem::path(results_folder_) / name).string();
}

std::vector<LayerIndicators> FineTuneEvaluator::indicators(const IndicatorRequest& request) {
  const std::string key = result_key({{"weight_bits", request.weight_bits},
                                      {"activation_bits", request.activation_bits},
                                      {"searched", request.searched},
                                      {"epochs", request.epochs},
                                      {"lr", request.lr}});
  const std::string indicators_path = results_file("indicators.json");
  if (!indicators_path.empty() && std::filesystem::exists(indicators_path)) {
    StoredIndicators stored = read_indicators(indicators_path);
    if (stored.key == key) return stored.layers;
  }
  std::vector<LayerIndicators> layers;
  if (!request.reuse_from.empty()) {
    if (!std::filesystem::is_regular_file(request.reuse_from)) throw ConfigError("--indicators-from " + request.reuse_from + ": no such file");
    StoredIndicators stored = read_indicators(request.reuse_from);
    if (stored.key != key) {
      throw ConfigError("--indicators-from " + request.reuse_from +
                        ": trained for another checkpoint, data, seed, thread count or candidate bits");
    }
    spdlog::info("LIMPQ indicators taken from {}", request.reuse_from);
    layers = std::move(stored.layers);
  } else {
    ModelSpec spec = info_.spec;
    spec.quant = quant_options("lsq", false, spec.quant.fold_batch_norm ? "folded" : "separate");
    torch::manual_seed(options_.seed);
    Model model(spec);
    load_weights_from(model, checkpoint_);
    IndicatorTraining training{request.weight_bits, request.activation_bits, request.searched, request.epochs,
                               request.lr, options_.batch_size, options_.seed, show_progress_};
    layers = train_importance_indicators(model, data_.train, training);
  }
  if (!indicators_path.empty()) {
    const nlohmann::ordered_json json = {{"key", key}, {"layers", layers_json(layers)}};
    write_file_atomically(indicators_path, json.dump(2) + "\n");
  }
  return layers;
}

LearnedWidths FineTuneEvaluator::learned_widths(const BitWidthRequest& request) {
  // The validation images choose the epoch kept.
  const std::string key = result_key({{"validation", data_.val.size()},
                                      {"searched", request.searched},
                                      {"targets", {request.target_weight_bits, request.target_activation_bits}},
                                      {"penalty", request.penalty},
                                      {"bits", {request.min_bits, request.max_bits, request.powers_of_two}},
                                      {"epochs", request.epochs},
                                      {"lr", {request.lr, request.width_lr}}});
  const std::string path = results_file("learned_bits.json");
  if (!path.empty() && std::filesystem::exists(path)) {
    const std::optional<LearnedWidths> stored = read_learned_widths(path, key);
    if (stored) return *stored;
  }
  Model model = load_checkpoint(checkpoint_);  // its quantizers' clips are where the widths start from
  const BitWidthLearning learning{request, options_.batch_size, options_.seed, show_progress_};
  const LearnedWidths learned = learn_bit_widths(model, data_, learning);
  if (!path.empty()) {
    const nlohmann::ordered_json json = {{"key", key},
                                         {"policy", policy_summary(learned.policy)},
                                         {"weight_bits", learned.weight_bits},
                                         {"activation_bits", learned.activation_bits},
                                         {"val_accuracy", learned.val_accuracy},
                                         {"epoch", learned.epoch},
                                         {"meets_targets", learned.meets_targets}};
    write_file_atomically(path, json.dump(2) + "\n");
  }
  return learned;
}

}  // namespace qxbar
