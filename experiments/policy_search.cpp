#include "experiments/policy_search.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "experiments/fine_tune_evaluator.h"
#include "sim/core/atomic_file.h"
#include "sim/core/fingerprint.h"
#include "sim/engines.h"

namespace qxbar {
namespace {

nlohmann::ordered_json row_json(const EvaluatedPolicy& row) {
  const Evaluation& e = row.evaluation;
  return {{"policy", policy_summary(row.policy)}, {"status", to_string(e.status)}, {"reward", e.reward},
          {"accuracy", e.accuracy},  {"latency_ns", e.latency_ns},           {"energy_pj", e.energy_pj},
          {"cost_ratio", e.cost_ratio}};
}

}  // namespace

OptionSet search_request_options(PolicySearchRequest& request) {
  using C = CandidateOptions;
  static const std::vector<Option<CandidateOptions>> candidate_table = {
      {"engine", "engine", "cost engine", &C::engine, {}, cost_engine_names, true,
       [] { return cost_engines().help(); }},
      {"cell_resolution", "cell-resolution", "weight bits only in multiples of the chip's cell bits", &C::cell_resolution},
      {"train_size", "train-size", "training images each candidate is fine-tuned on (0: all not held out)",
       &C::train_size, {0}},
      {"val_size", "val-size", "training images held out to validate each candidate", &C::val_size, {1}},
      {"finetune_epochs", "finetune-epochs", "fine-tuning epochs per candidate (0: none)", &C::finetune_epochs, {0}},
      {"finetune_lr", "finetune-lr", "fine-tuning learning rate (SGD, cosine)", &C::finetune_lr, {0, 1e3, true}},
      {"batch_size", "batch-size", "fine-tuning images per step", &C::batch_size, {1}},
      {"analog", "analog",
       "fine-tune and validate every candidate as the chip computes (crossbar slices, bit-planes, row groups, "
       "converters), so that the chip decides its accuracy too", &C::analog},
  };
  OptionSet options = algorithm_choice_options(request.algorithm);
  for (OptionSet group : {search_settings_options(request.settings), space_options(request.space),
                          bind_options(candidate_table, request.candidates)}) {
    options.insert(options.end(), group.begin(), group.end());
  }
  return options;
}

nlohmann::json search_options_key(PolicySearchRequest request) {
  return {{"options", run_key_json(search_request_options(request))},
          {"algorithm", request.algorithm.run_key()},
          {"chip", request.chip.fingerprint}};
}

DataOptions candidate_data(const PolicySearchRequest& request) {
  DataOptions data = request.data;
  data.train_size = request.candidates.train_size;
  data.val_size = request.candidates.val_size;
  data.seed = request.algorithm.seed;
  return data;
}

TrainOptions candidate_finetune(const PolicySearchRequest& request) {
  TrainOptions finetune;
  finetune.epochs = request.candidates.finetune_epochs;
  finetune.lr = request.candidates.finetune_lr;
  finetune.batch_size = request.candidates.batch_size;
  finetune.seed = request.algorithm.seed;
  return finetune;
}

SearchResult search_policy(PolicySearchRequest request) {
  const CheckpointInfo checkpoint = read_checkpoint_info(request.checkpoint);
  if (!request.network.empty() && request.network != checkpoint.spec.architecture) {
    throw ConfigError(request.checkpoint + ": holds " + checkpoint.spec.architecture + ", not " + request.network);
  }
  if (request.data.name.empty()) request.data.name = checkpoint.dataset;
  check_values(search_request_options(request), "search");
  if (request.candidates.cell_resolution) request.space.cell_bits = request.chip.crossbar.cell_bits;
  const std::unique_ptr<CostEngine> engine = make_cost_engine(request.candidates.engine, request.chip, request.cache);

  const CandidateOptions& candidates = request.candidates;
  request.data = candidate_data(request);
  const auto chip = candidates.analog ? std::make_shared<const ChipSpec>(request.chip) : nullptr;
  SearchSettings& settings = request.settings;
  FineTuneEvaluator evaluator(request.checkpoint, load_data(request.data), candidate_finetune(request), chip,
                              settings.out_dir);
  const Model model(checkpoint.spec);
  const PolicySpace space(model.workload(), model.geometry(), request.space);
  const std::unique_ptr<SearchAlgorithm> algorithm = make_search_algorithm(
      request.algorithm,
      {space, request.algorithm.seed, engine.get(), &evaluator, &evaluator, settings.reward, settings.cost_budget.values,
       &evaluator});

  // The thread count shapes float reductions in fine-tuning and in the agent's updates, so a resume with
  // another count could diverge; the checkpoint's epochs tell a continued checkpoint from its earlier self.
  settings.run_key = fingerprint_hex(nlohmann::json{{"checkpoint", {checkpoint.run_key, checkpoint.history.size()}},
                                                    {"threads", torch::get_num_threads()},
                                                    {"data", request.data.name},
                                                    {"seed", request.algorithm.seed},
                                                    {"search", search_options_key(request)},
                                                    {"engine", engine->identity()}}
                                         .dump());
  spdlog::info("searching {} policies of {} ({} decisions) on {} with {}: {} training images, {} for validation",
               settings.episodes, checkpoint.spec.architecture, space.decisions().size(), request.chip.name,
               request.algorithm.name, candidates.train_size, candidates.val_size);
  const SearchResult result = run_search(*algorithm, space, *engine, evaluator, settings);
  if (request.cache) request.cache->flush();
  if (result.resumed_rows > 0) {
    spdlog::info("resumed: {} evaluations read back from {}/search.sqlite", result.resumed_rows, settings.out_dir);
  }

  nlohmann::ordered_json summary = {{"network", checkpoint.spec.architecture},
                                    {"chip", request.chip.name},
                                    {"algorithm", request.algorithm.name},
                                    {"episodes", settings.episodes},
                                    {"reward", settings.reward},
                                    {"reference", row_json(result.history[result.reference])},
                                    {"trainings", result.trainings},
                                    {"train_seconds", result.train_seconds},
                                    {"price_seconds", result.price_seconds}};
  if (settings.episodes > 0) summary["best"] = row_json(result.history[result.best]);
  write_file_atomically(settings.out_dir + "/search.json", summary.dump(2) + "\n");
  return result;
}

}  // namespace qxbar
