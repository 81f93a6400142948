#include "experiments/run_folder.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <fstream>
#include <set>
#include <stdexcept>

#include "nn/trainer.h"
#include "sim/core/atomic_file.h"
#include "sim/core/fingerprint.h"

namespace qxbar {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

TrainOptions train_options(TrainOptions stage, std::uint64_t seed) {
  stage.seed = seed;
  return stage;
}

// A stage's training options as its key holds them.
Json stage_key(TrainOptions stage) { return run_key_json(training_options(stage)); }

// Trains `model` in the stage folder (resuming its checkpoint) and returns validation and test accuracy.
Json train_in(const Stage& stage, Model& model, const DataSplits& data, const TrainOptions& options, const std::string& dataset) {
  CheckpointInfo info;
  info.spec = model.spec();
  info.dataset = dataset;
  info.run_key = stage.key();
  const TrainResult result = train(model, data, options, info, stage.path("model.pt"));
  write_file_atomically(stage.path("metrics.json"), metrics_json(result, model, dataset));
  return {{"val_accuracy", result.val_accuracy}, {"test_accuracy", result.test_accuracy}};
}

}  // namespace

Stage::Stage(const fs::path& run, const std::string& name, std::string key, const std::string& extent)
    : dir_(run / name), name_(name), key_(std::move(key)), done_key_(key_ + "/" + extent) {
  const fs::path started = dir_ / "inputs.key";
  std::ifstream stream(started);
  std::string previous;
  if (stream >> previous && previous != key_) {
    spdlog::info("{}: inputs changed, starting the stage over", name_);
    fs::remove_all(dir_);
  }
  fs::create_directories(dir_);
  write_file_atomically(started.string(), key_ + "\n");
}


std::optional<Json> Stage::finished() const {
  std::ifstream stream(dir_ / "stage.json");
  if (!stream) return std::nullopt;
  try {
    Json record = Json::parse(stream);
    if (record.at("key") == done_key_) {
      spdlog::info("{}: inputs unchanged, done before", name_);
      return record.at("results");
    }
  } catch (const nlohmann::json::exception&) {
  }
  return std::nullopt;
}

Json Stage::finish(Json results) const {
  write_file_atomically(path("stage.json"), Json{{"key", done_key_}, {"results", results}}.dump(2) + "\n");
  return results;
}

std::string key_of(const Json& inputs) { return fingerprint_hex(inputs.dump()); }

ModelSpec model_spec(const Recipe& recipe, bool quantized) {
  const NetworkOptions& network = recipe.network;
  ModelSpec spec = spec_for_dataset(network.architecture, recipe.data.name);
  spec.classes = dataset_classes(recipe.data);
  spec.width = network.width;
  if (quantized) spec.quant = quant_options(network.quantizer, network.per_channel, network.batch_norm);
  return spec;
}

RecipeRun::RecipeRun(const Recipe& recipe, const std::string& recipe_path, const std::string& directory, bool resume)
    : recipe_(recipe),
      recipe_path_(recipe_path),
      run_(directory),
      folder_was_new_(!fs::exists(run_) || (fs::is_directory(run_) && fs::is_empty(run_))),
      exceptions_at_start_(std::uncaught_exceptions()),
      // One run at a time in a folder: a second would rewrite recipe.yaml under the first one's stages.
      lock_((run_ / "run").string(), directory),
      chip_(load_chip(recipe.chip, recipe.chip_set)) {
  if (!resume && fs::exists(run_ / "recipe.yaml")) {
    throw ConfigError(directory + ": holds a run already; pass --resume to continue it (finished stages are kept), "
                      "or choose another --out");
  }
  fs::create_directories(run_);
  // Unchanged bytes are not written, so a run resumed from its own recipe.yaml leaves its input alone.
  write_file_atomically((run_ / "recipe.yaml").string(), recipe_yaml_text(recipe));
  std::string chip_text = "# " + chip_.name + ", fingerprint " + chip_.fingerprint + "\n";
  for (const ResolvedSetting& setting : chip_.settings) {
    chip_text += setting.key + ": " + setting_text(setting.value) + "  # " + setting.unit + ", " + setting.source + "\n";
  }
  write_file_atomically((run_ / "chip.txt").string(), chip_text);
  full_.seed = recipe.seed;
}

RecipeRun::~RecipeRun() {
  if (!folder_was_new_ || std::uncaught_exceptions() <= exceptions_at_start_) return;
  // What a run writes before its first training result: the resolved recipe and chip, the lock, and each
  // started stage's inputs key.
  const std::set<std::string> bookkeeping = {"recipe.yaml", "chip.txt", "run.lock", "inputs.key"};
  std::error_code error;
  for (fs::recursive_directory_iterator entry(run_, error), end; !error && entry != end; entry.increment(error)) {
    if (!entry->is_directory() && bookkeeping.count(entry->path().filename().string()) == 0) return;
  }
  if (!error) fs::remove_all(run_, error);  // best effort: the error being thrown is the one to report
}

std::pair<double, double> RecipeRun::prepare() {
  Recipe options = recipe_;  // the option tables bind to mutable groups; the recipe itself stays as read
  const Json data_inputs = {{"data", run_key_json(data_options(options.data))}, {"seed", recipe_.seed}};
  const Json network_inputs = run_key_json(network_options(options.network));
  const std::string pretrained = recipe_.fp32_from.empty() ? "" : read_checkpoint_info(recipe_.fp32_from).run_key;
  const Stage fp32_stage(run_, "fp32", key_of({{"network", {network_inputs.at("network"), network_inputs.at("width")}},
                                               {"data", data_inputs},
                                               {"fp32", stage_key(recipe_.fp32)},
                                               {"from", pretrained}}));
  Json fp32 = fp32_stage.finished().value_or(Json());
  if (fp32.is_null()) {
    spdlog::info("fp32: pretraining {} for {} epochs", recipe_.network.architecture, recipe_.fp32.epochs);
    torch::manual_seed(recipe_.seed);
    Model model(model_spec(recipe_, false));
    model.set_policy(uniform_policy(model.workload(), {kFloatBits, kFloatBits}));
    if (!recipe_.fp32_from.empty()) load_weights_from(model, recipe_.fp32_from);
    fp32 = fp32_stage.finish(train_in(fp32_stage, model, full_data(), train_options(recipe_.fp32, recipe_.seed), recipe_.data.name));
  }

  int8_stage_.emplace(run_, "int8", key_of({{"fp32", fp32_stage.key()}, {"network", network_inputs},
                                            {"int8", stage_key(recipe_.int8)}}));
  Json int8 = int8_stage_->finished().value_or(Json());
  if (int8.is_null()) {
    spdlog::info("int8: quantization-aware training at W8A8 for {} epochs", recipe_.int8.epochs);
    Model model(model_spec(recipe_, true));
    model.set_policy(uniform_policy(model.workload(), {8, 8}));
    load_weights_from(model, fp32_stage.path("model.pt"));
    int8 = int8_stage_->finish(train_in(*int8_stage_, model, full_data(), train_options(recipe_.int8, recipe_.seed), recipe_.data.name));
  }
  return {fp32.at("test_accuracy").get<double>(), int8.at("test_accuracy").get<double>()};
}

const Stage& RecipeRun::int8_stage() const {
  if (!int8_stage_) throw std::logic_error("the int8 stage before prepare()");
  return *int8_stage_;
}

PolicySearchRequest RecipeRun::search_request(const std::string& algorithm) const {
  PolicySearchRequest request = recipe_.search;
  request.algorithm.name = algorithm;
  request.checkpoint = int8_stage().path("model.pt");
  request.data = {recipe_.data.name, recipe_.data.dir, 0, 0, recipe_.seed};
  request.chip = chip_;
  request.cache = std::make_shared<CostCache>(CostCache::default_path());
  request.algorithm.seed = recipe_.seed;
  return request;
}

RecipeRun::Finished RecipeRun::search_and_finish(const std::string& algorithm, const std::string& name, const std::string& final_name) {
  PolicySearchRequest request = search_request(algorithm);
  request.settings.resume = true;
  const int episodes = request.settings.episodes;
  const Stage search_stage(run_, name, key_of({{"int8", int8_stage_->key()}, {"search", search_options_key(request)}}),
                           std::to_string(episodes));
  request.settings.out_dir = search_stage.directory();
  Json search = search_stage.finished().value_or(Json());
  if (search.is_null()) {
    if (episodes < 1) throw ConfigError(recipe_path_ + ": search.episodes: a run needs at least one episode");
    const auto started = std::chrono::steady_clock::now();
    const SearchResult result = search_policy(request);
    const EvaluatedPolicy& best = result.history[result.best];
    const EvaluatedPolicy& reference = result.history[result.reference];
    int evaluations = 0;
    for (const EvaluatedPolicy& row : result.history) evaluations += row.kind == EvaluatedPolicy::Kind::Search ? 1 : 0;
    search = search_stage.finish({{"policy", policy_summary(best.policy)},
                                  {"val_accuracy", best.evaluation.accuracy},
                                  {"latency_ns", best.evaluation.latency_ns},
                                  {"energy_pj", best.evaluation.energy_pj},
                                  {"latency_w8a8_ns", reference.evaluation.latency_ns},
                                  {"energy_w8a8_pj", reference.evaluation.energy_pj},
                                  {"trainings", result.trainings},
                                  {"train_seconds", result.train_seconds},
                                  {"price_seconds", result.price_seconds},
                                  {"wall_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()},
                                  {"evaluations", evaluations},
                                  {"best_episode", best.episode}});
  }
  const Policy policy = parse_policy_summary(search.at("policy").get<std::string>(), search_stage.path("stage.json"));

  Json final_inputs = {{"search", search_stage.key()},
                       {"finetune", stage_key(recipe_.finetune)},
                       {"chip_test_images", recipe_.chip_test.test_images}};
  // The other chip-test options came later: at their defaults a finished run keeps its key.
  ChipTestOptions chosen = recipe_.chip_test;
  ChipTestOptions defaults;
  defaults.test_images = chosen.test_images;
  const std::string chip_test = run_key_json(chip_test_options(chosen)).dump();
  if (chip_test != run_key_json(chip_test_options(defaults)).dump()) final_inputs["chip_test"] = chip_test;
  const Stage final_stage(run_, final_name, key_of(final_inputs));
  Json final_result = final_stage.finished().value_or(Json());
  if (final_result.is_null()) {
    spdlog::info("{}: fine-tuning {} for {} epochs on the full training set", final_name,
                 search.at("policy").get<std::string>(), recipe_.finetune.epochs);
    const auto on_chip = std::make_shared<const ChipSpec>(chip_);
    Model final_model(model_spec(recipe_, true));
    final_model.set_policy(policy);
    load_weights_from(final_model, int8_stage_->path("model.pt"));
    // Candidates searched on the chip's arithmetic are fine-tuned for it in the end too.
    if (request.candidates.analog) final_model.set_chip(on_chip);
    final_result = train_in(final_stage, final_model, full_data(), train_options(recipe_.finetune, recipe_.seed), recipe_.data.name);
    spdlog::info("{}: evaluating with folded batch norms, in exact integers and as {} computes", final_name, chip_.name);
    Model deployed = fold_batch_norm(final_model);
    deployed.set_integer_arithmetic(true);
    final_result["integer_test_accuracy"] = evaluate(deployed, full_data().test, 256);
    const ChipAccuracy on_chip_accuracy = evaluate_on_chip(deployed, on_chip, full_data(), recipe_.chip_test);
    final_result["chip_test_accuracy"] = on_chip_accuracy.mean;
    final_result["chip_test_accuracy_std"] = on_chip_accuracy.std;
    final_result["chip_noise_seeds"] = on_chip_accuracy.seeds;
    final_result["chip_test_images"] = full_data().test.first(recipe_.chip_test.test_images).size();
    final_result = final_stage.finish(final_result);
  }
  Json joined = search;
  for (const auto& [key, value] : final_result.items()) joined[key] = value;
  return {joined, policy, search_stage.directory()};
}

const DataSplits& RecipeRun::full_data() {
  if (!loaded_) loaded_ = load_data(full_);
  return *loaded_;
}

}  // namespace qxbar
