#include "experiments/workflow.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "nn/trainer.h"
#include "experiments/report.h"
#include "sim/core/atomic_file.h"
#include "sim/core/file_lock.h"
#include "sim/core/fingerprint.h"
#include "sim/engines.h"

namespace qxbar {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// A stage folder: `key` fingerprints the stage's inputs (and those of the stages before it); the folder is
// cleared when they change. `extent` is what may grow without starting over (a search's episodes).
// stage.json is written last, so its presence with the same key and extent means the stage is done.
class Stage {
 public:
  Stage(const fs::path& run, const std::string& name, std::string key, const std::string& extent = "")
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

  // What the stages after this one depend on.
  const std::string& key() const { return done_key_; }
  std::string directory() const { return dir_.string(); }
  std::string path(const std::string& file) const { return (dir_ / file).string(); }

  // The stage's results when it finished with these inputs before.
  std::optional<Json> finished() const {
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

  Json finish(Json results) const {
    write_file_atomically(path("stage.json"), Json{{"key", done_key_}, {"results", results}}.dump(2) + "\n");
    return results;
  }

 private:
  fs::path dir_;
  std::string name_;
  std::string key_;
  std::string done_key_;
};

std::string key_of(const Json& inputs) { return fingerprint_hex(inputs.dump()); }

ModelSpec model_spec(const Recipe& recipe, bool quantized) {
  const NetworkOptions& network = recipe.network;
  ModelSpec spec = spec_for_dataset(network.architecture, recipe.data.name);
  spec.classes = dataset_classes(recipe.data);
  spec.width = network.width;
  if (quantized) spec.quant = quant_options(network.quantizer, network.per_channel, network.batch_norm);
  return spec;
}

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

RunSummary run_recipe(const Recipe& recipe, const std::string& recipe_path, const std::string& directory, bool resume) {
  const fs::path run(directory);
  // One run at a time in a folder: a second would rewrite recipe.yaml under the first one's stages.
  const FileLock lock((run / "run").string(), directory);
  if (!resume && fs::exists(run / "recipe.yaml")) {
    throw ConfigError(directory + ": holds a run already; pass --resume to continue it (finished stages are kept), "
                      "or choose another --out");
  }
  fs::create_directories(run);
  // Rewritten only when it changes: a run resumed from its own recipe.yaml must not replace its input.
  const std::string recipe_text = recipe_yaml_text(recipe);
  std::ostringstream written;
  written << std::ifstream(run / "recipe.yaml").rdbuf();
  if (written.str() != recipe_text) write_file_atomically((run / "recipe.yaml").string(), recipe_text);
  const ChipSpec chip = load_chip(recipe.chip, recipe.chip_set);
  std::string chip_text = "# " + chip.name + ", fingerprint " + chip.fingerprint + "\n";
  for (const ResolvedSetting& setting : chip.settings) {
    chip_text += setting.key + ": " + setting_text(setting.value) + "  # " + setting.unit + ", " + setting.source + "\n";
  }
  write_file_atomically((run / "chip.txt").string(), chip_text);

  DataOptions full = recipe.data;
  full.seed = recipe.seed;
  // Read only by the stages that run, so a finished run reports without loading anything.
  std::optional<DataSplits> loaded;
  const auto full_data = [&]() -> const DataSplits& {
    if (!loaded) loaded = load_data(full);
    return *loaded;
  };
  Recipe options = recipe;  // the option tables bind to mutable groups; the recipe itself stays as read
  const Json data_inputs = {{"data", run_key_json(data_options(options.data))}, {"seed", recipe.seed}};
  const Json network_inputs = run_key_json(network_options(options.network));

  const std::string pretrained = recipe.fp32_from.empty() ? "" : read_checkpoint_info(recipe.fp32_from).run_key;
  const Stage fp32_stage(run, "fp32", key_of({{"network", {network_inputs.at("network"), network_inputs.at("width")}},
                                               {"data", data_inputs},
                                               {"fp32", stage_key(recipe.fp32)},
                                               {"from", pretrained}}));
  Json fp32 = fp32_stage.finished().value_or(Json());
  if (fp32.is_null()) {
    spdlog::info("fp32: pretraining {} for {} epochs", recipe.network.architecture, recipe.fp32.epochs);
    torch::manual_seed(recipe.seed);
    Model model(model_spec(recipe, false));
    model.set_policy(uniform_policy(model.workload(), {kFloatBits, kFloatBits}));
    if (!recipe.fp32_from.empty()) load_weights_from(model, recipe.fp32_from);
    fp32 = fp32_stage.finish(train_in(fp32_stage, model, full_data(), train_options(recipe.fp32, recipe.seed), recipe.data.name));
  }

  const Stage int8_stage(run, "int8", key_of({{"fp32", fp32_stage.key()}, {"network", network_inputs},
                                               {"int8", stage_key(recipe.int8)}}));
  Json int8 = int8_stage.finished().value_or(Json());
  if (int8.is_null()) {
    spdlog::info("int8: quantization-aware training at W8A8 for {} epochs", recipe.int8.epochs);
    Model model(model_spec(recipe, true));
    model.set_policy(uniform_policy(model.workload(), {8, 8}));
    load_weights_from(model, fp32_stage.path("model.pt"));
    int8 = int8_stage.finish(train_in(int8_stage, model, full_data(), train_options(recipe.int8, recipe.seed), recipe.data.name));
  }

  PolicySearchRequest request = recipe.search;
  request.checkpoint = int8_stage.path("model.pt");
  request.data = {recipe.data.name, recipe.data.dir, 0, 0, recipe.seed};
  request.chip = chip;
  request.cache = std::make_shared<CostCache>(CostCache::default_path());
  request.algorithm.seed = recipe.seed;
  request.settings.resume = true;
  const int episodes = request.settings.episodes;
  const Stage search_stage(run, "search", key_of({{"int8", int8_stage.key()}, {"search", search_options_key(request)}}),
                           std::to_string(episodes));
  request.settings.out_dir = search_stage.directory();
  Json search = search_stage.finished().value_or(Json());
  if (search.is_null()) {
    if (episodes < 1) throw ConfigError(recipe_path + ": search.episodes: a run needs at least one episode");
    const SearchResult result = search_policy(request);
    const EvaluatedPolicy& best = result.history[result.best];
    const EvaluatedPolicy& reference = result.history[result.reference];
    search = search_stage.finish({{"policy", policy_summary(best.policy)},
                                  {"latency_ns", best.evaluation.latency_ns},
                                  {"energy_pj", best.evaluation.energy_pj},
                                  {"latency_w8a8_ns", reference.evaluation.latency_ns},
                                  {"energy_w8a8_pj", reference.evaluation.energy_pj},
                                  {"trainings", result.trainings},
                                  {"train_seconds", result.train_seconds},
                                  {"price_seconds", result.price_seconds}});
  }
  const Policy policy = parse_policy_summary(search.at("policy").get<std::string>(), search_stage.path("stage.json"));

  Json final_inputs = {{"search", search_stage.key()},
                       {"finetune", stage_key(recipe.finetune)},
                       {"chip_test_images", recipe.chip_test.test_images}};
  // The other chip-test options came later: at their defaults a finished run keeps its key.
  ChipTestOptions chosen = recipe.chip_test;
  ChipTestOptions defaults;
  defaults.test_images = chosen.test_images;
  const std::string chip_test = run_key_json(chip_test_options(chosen)).dump();
  if (chip_test != run_key_json(chip_test_options(defaults)).dump()) final_inputs["chip_test"] = chip_test;
  const Stage final_stage(run, "final", key_of(final_inputs));
  const auto on_chip = std::make_shared<const ChipSpec>(chip);
  Json final_result = final_stage.finished().value_or(Json());
  Model final_model(model_spec(recipe, true));
  final_model.set_policy(policy);
  if (final_result.is_null()) {
    spdlog::info("final: fine-tuning {} for {} epochs on the full training set", search.at("policy").get<std::string>(),
                 recipe.finetune.epochs);
    load_weights_from(final_model, int8_stage.path("model.pt"));
    // Candidates searched on the chip's arithmetic are fine-tuned for it in the end too.
    if (request.candidates.analog) final_model.set_chip(on_chip);
    final_result = train_in(final_stage, final_model, full_data(), train_options(recipe.finetune, recipe.seed), recipe.data.name);
    spdlog::info("final: evaluating with folded batch norms, in exact integers and as {} computes", chip.name);
    Model deployed = fold_batch_norm(final_model);
    deployed.set_integer_arithmetic(true);
    final_result["integer_test_accuracy"] = evaluate(deployed, full_data().test, 256);
    const ChipAccuracy on_chip_accuracy = evaluate_on_chip(deployed, on_chip, full_data(), recipe.chip_test);
    final_result["chip_test_accuracy"] = on_chip_accuracy.mean;
    final_result["chip_test_accuracy_std"] = on_chip_accuracy.std;
    final_result["chip_noise_seeds"] = on_chip_accuracy.seeds;
    final_result["chip_test_images"] = full_data().test.first(recipe.chip_test.test_images).size();
    final_result = final_stage.finish(final_result);
  }

  RunSummary summary;
  summary.fp32_accuracy = fp32.at("test_accuracy").get<double>();
  summary.int8_accuracy = int8.at("test_accuracy").get<double>();
  summary.final_accuracy = final_result.at("test_accuracy").get<double>();
  summary.integer_accuracy = final_result.at("integer_test_accuracy").get<double>();
  summary.chip_accuracy = final_result.at("chip_test_accuracy").get<double>();
  summary.chip_accuracy_std = final_result.value("chip_test_accuracy_std", 0.0);  // absent from older runs
  summary.chip_noise_seeds = final_result.value("chip_noise_seeds", 1);
  summary.latency_ns = search.at("latency_ns").get<double>();
  summary.latency_w8a8_ns = search.at("latency_w8a8_ns").get<double>();
  summary.energy_pj = search.at("energy_pj").get<double>();
  summary.energy_w8a8_pj = search.at("energy_w8a8_pj").get<double>();
  summary.policy = search.at("policy").get<std::string>();
  summary.trainings = search.at("trainings").get<int>();
  summary.train_seconds = search.at("train_seconds").get<double>();
  summary.price_seconds = search.at("price_seconds").get<double>();
  const Json summary_json = {{"fp32_accuracy", summary.fp32_accuracy},
                             {"int8_accuracy", summary.int8_accuracy},
                             {"final_accuracy", summary.final_accuracy},
                             {"integer_accuracy", summary.integer_accuracy},
                             {"chip_accuracy", summary.chip_accuracy},
                             {"chip_accuracy_std", summary.chip_accuracy_std},
                             {"chip_noise_seeds", summary.chip_noise_seeds},
                             {"latency_ns", summary.latency_ns},
                             {"latency_w8a8_ns", summary.latency_w8a8_ns},
                             {"latency_ratio", summary.latency_ns / summary.latency_w8a8_ns},
                             {"energy_pj", summary.energy_pj},
                             {"energy_w8a8_pj", summary.energy_w8a8_pj},
                             {"energy_ratio", summary.energy_pj / summary.energy_w8a8_pj},
                             {"policy", summary.policy}};
  write_file_atomically((run / "summary.json").string(), summary_json.dump(2) + "\n");
  write_file_atomically((run / "best_policy.yaml").string(), policy_yaml_text(final_model.workload(), policy));
  write_file_atomically((run / "best_policy.npy").string(), policy_npy_bytes(policy));

  summary.report_path = write_report(recipe, recipe_path, summary, chip, final_model.workload(), policy,
                                     request.settings.out_dir, directory);
  return summary;
}

}  // namespace qxbar
