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

nlohmann::json ddpg_fingerprint(const DdpgOptions& options) {
  nlohmann::json values = nlohmann::json::array();
  for (const DdpgParameter& parameter : ddpg_parameters()) {
    std::visit([&](auto field) { values.push_back(options.*field); }, parameter.field);
  }
  return values;
}

SearchResult search_policy(PolicySearchRequest request) {
  const CheckpointInfo checkpoint = read_checkpoint_info(request.checkpoint);
  if (!request.network.empty() && request.network != checkpoint.spec.architecture) {
    throw ConfigError("--net " + request.network + ": the checkpoint " + request.checkpoint + " holds " + checkpoint.spec.architecture);
  }
  if (request.data.name.empty()) request.data.name = checkpoint.dataset;
  if (request.cell_resolution) request.space.cell_bits = request.chip.crossbar.cell_bits;
  if (request.finetune.epochs < 0) throw ConfigError("--finetune-epochs " + std::to_string(request.finetune.epochs) + ": must be >= 0");
  if (request.finetune.batch_size < 1) throw ConfigError("--batch-size: must be at least 1");
  const std::unique_ptr<CostEngine> engine = make_cost_engine(request.engine, request.chip, request.cache);

  request.finetune.seed = request.algorithm.seed;
  request.data.seed = request.algorithm.seed;
  FineTuneEvaluator evaluator(request.checkpoint, load_data(request.data), request.finetune);
  const Model model(checkpoint.spec);
  const PolicySpace space(model.workload(), model.geometry(), request.space);
  const std::unique_ptr<SearchAlgorithm> algorithm = make_search_algorithm(request.algorithm, space);

  const TrainOptions& finetune = request.finetune;
  SearchSettings& settings = request.settings;
  // The thread count shapes float reductions in fine-tuning and in the agent's updates, so a resume with
  // another count could diverge; the checkpoint's epochs tell a continued checkpoint from its earlier self.
  settings.run_key = fingerprint_hex(nlohmann::json{{"checkpoint", {checkpoint.run_key, checkpoint.history.size()}},
                                                    {"threads", torch::get_num_threads()},
                                                    {"data", request.data.name},
                                                    {"train_size", request.data.train_size},
                                                    {"val_size", request.data.val_size},
                                                    {"finetune", {finetune.epochs, finetune.lr, finetune.batch_size}},
                                                    {"seed", request.algorithm.seed},
                                                    {"algo", request.algorithm.name},
                                                    {"ddpg", ddpg_fingerprint(request.algorithm.ddpg)},
                                                    {"space",
                                                     {request.space.min_bits, request.space.max_bits,
                                                      request.space.cell_bits, request.space.force_first_last}},
                                                    {"reward", to_string(settings.metric)},
                                                    {"max_acc_drop", settings.max_accuracy_drop},
                                                    {"cost_budget", settings.cost_budget},
                                                    {"chip", request.chip.fingerprint},
                                                    {"engine", engine->identity()}}
                                         .dump());
  spdlog::info("searching {} policies of {} ({} decisions) on {} with {}: {} training images, {} for validation",
               settings.episodes, checkpoint.spec.architecture, space.decisions().size(), request.chip.name,
               request.algorithm.name, request.data.train_size, request.data.val_size);
  const SearchResult result = run_search(*algorithm, space, *engine, evaluator, settings);
  if (request.cache) request.cache->flush();
  if (result.resumed_rows > 0) {
    spdlog::info("resumed: {} evaluations read back from {}/search.sqlite", result.resumed_rows, settings.out_dir);
  }

  nlohmann::ordered_json summary = {{"network", checkpoint.spec.architecture},
                                    {"chip", request.chip.name},
                                    {"algorithm", request.algorithm.name},
                                    {"episodes", settings.episodes},
                                    {"reward", to_string(settings.metric)},
                                    {"reference", row_json(result.history[result.reference])},
                                    {"trainings", result.trainings},
                                    {"train_seconds", result.train_seconds},
                                    {"price_seconds", result.price_seconds}};
  if (settings.episodes > 0) summary["best"] = row_json(result.history[result.best]);
  write_file_atomically(settings.out_dir + "/search.json", summary.dump(2) + "\n");
  return result;
}

}  // namespace qxbar
