#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "experiments/cli.h"
#include "experiments/fine_tune_evaluator.h"
#include "search/algorithm.h"
#include "search/search_run.h"
#include "sim/atomic_file.h"
#include "sim/fingerprint.h"

namespace qxbar::cli {
namespace {

nlohmann::ordered_json row_json(const EvaluatedPolicy& row) {
  const Evaluation& e = row.evaluation;
  return {{"policy", policy_summary(row.policy)}, {"status", to_string(e.status)}, {"reward", e.reward},
          {"accuracy", e.accuracy},  {"latency_ns", e.latency_ns},           {"energy_pj", e.energy_pj},
          {"cost_ratio", e.cost_ratio}};
}

}  // namespace

int run_search(const std::vector<std::string>& args) {
  ChipOptions chip_options;
  CacheOptions cache_options;
  DataCommandOptions data_options;
  std::string engine_name;
  std::string net;
  std::string from;
  std::string out;
  std::string reward_name;
  SearchSettings settings;
  SpaceOptions space_options;
  bool cell_resolution = false;
  AlgorithmOptions algorithm_options;
  DdpgOptions& ddpg = algorithm_options.ddpg;
  TrainOptions finetune;
  po::options_description options("search options");
  chip_options.add_to(options);
  options.add_options()
      ("net", po::value(&net), "network; must be the checkpoint's (default: the checkpoint's)")
      ("from", po::value(&from)->required(), "quantized (INT8) checkpoint every candidate is fine-tuned from")
      ("out", po::value(&out)->required(), "run folder: search.sqlite, history.csv, best_policy.yaml/.npy, search.json")
      ("algo", po::value(&algorithm_options.name)->default_value("ddpg"), "search algorithm: ddpg | random")
      ("episodes", po::value(&settings.episodes)->default_value(100), "policies the algorithm proposes")
      ("max-acc-drop", po::value(&settings.max_accuracy_drop)->default_value(1.0),
       "accuracy points below the W8A8 policy's that still meet the target")
      ("reward", po::value(&reward_name)->default_value("latency"), "cost to minimise: latency | energy | edp")
      ("cost-budget", po::value(&settings.cost_budget)->default_value(0.0),
       "accuracy-constrained search: cost budget as a fraction of W8A8's (0: CIM-AQ's reward instead)")
      ("min-bit", po::value(&space_options.min_bits)->default_value(2), "fewest bits of a layer")
      ("max-bit", po::value(&space_options.max_bits)->default_value(8), "most bits of a layer")
      ("cell-resolution", po::bool_switch(&cell_resolution), "weight bits only in multiples of the chip's cell bits")
      ("force-first-last", po::bool_switch(&space_options.force_first_last), "keep the first and last layer at 8/8 bits")
      ("finetune-epochs", po::value(&finetune.epochs)->default_value(1), "fine-tuning epochs per candidate (0: none)")
      ("finetune-lr", po::value(&finetune.lr)->default_value(0.01), "fine-tuning learning rate (SGD, cosine)")
      ("batch-size", po::value(&finetune.batch_size)->default_value(128), "fine-tuning images per step")
      ("seed", po::value(&algorithm_options.seed)->default_value(0), "seed of the agent, the data split and fine-tuning")
      ("resume", po::bool_switch(&settings.resume), "continue the search stored in --out")
      ("engine", po::value(&engine_name)->default_value("systemc"), "cost engine: systemc | analytical")
      ("warmup", po::value(&ddpg.warmup)->default_value(ddpg.warmup), "DDPG: episodes of random actions first")
      ("hidden", po::value(&ddpg.hidden)->default_value(ddpg.hidden), "DDPG: units per hidden layer")
      ("lr-actor", po::value(&ddpg.lr_actor)->default_value(ddpg.lr_actor), "DDPG: actor learning rate (Adam)")
      ("lr-critic", po::value(&ddpg.lr_critic)->default_value(ddpg.lr_critic), "DDPG: critic learning rate (Adam)")
      ("discount", po::value(&ddpg.discount)->default_value(ddpg.discount), "DDPG: discount of the next step's value")
      ("ddpg-batch-size", po::value(&ddpg.batch_size)->default_value(ddpg.batch_size), "DDPG: transitions per update")
      ("rmsize", po::value(&ddpg.memory_per_step)->default_value(ddpg.memory_per_step),
       "DDPG: replay memory per decision of an episode")
      ("tau", po::value(&ddpg.tau)->default_value(ddpg.tau), "DDPG: soft update rate of the target networks")
      ("init-delta", po::value(&ddpg.init_delta)->default_value(ddpg.init_delta), "DDPG: initial exploration noise")
      ("delta-decay", po::value(&ddpg.delta_decay)->default_value(ddpg.delta_decay), "DDPG: noise decay per episode")
      ("moving-alpha", po::value(&ddpg.moving_alpha)->default_value(ddpg.moving_alpha),
       "DDPG: rate of the moving-average reward baseline");
  cache_options.add_to(options);
  data_options.add_to(options, "", 10000, 5000);
  po::variables_map values;
  if (!parse_command_line("search", args, options, values)) return 0;
  if (finetune.epochs < 0) throw ConfigError("--finetune-epochs " + std::to_string(finetune.epochs) + ": must be >= 0");
  if (finetune.batch_size < 1) throw ConfigError("--batch-size: must be at least 1");
  settings.metric = parse_cost_metric(reward_name);
  settings.out_dir = out;

  const CheckpointInfo checkpoint = read_checkpoint_info(from);
  if (!net.empty() && net != checkpoint.spec.architecture) {
    throw ConfigError("--net " + net + ": the checkpoint " + from + " holds " + checkpoint.spec.architecture);
  }
  if (data_options.data.empty()) data_options.data = checkpoint.dataset;
  const ChipSpec chip = chip_options.load();
  if (cell_resolution) space_options.cell_bits = chip.crossbar.cell_bits;
  const std::shared_ptr<CostCache> cache = cache_options.open();
  const std::unique_ptr<CostEngine> engine = make_cost_engine(engine_name, chip, cache);

  finetune.seed = algorithm_options.seed;
  FineTuneEvaluator evaluator(from, data_options.load(algorithm_options.seed), finetune);
  const Model model(checkpoint.spec);
  const PolicySpace space(model.workload(), model.geometry(), space_options);
  const std::unique_ptr<SearchAlgorithm> algorithm = make_search_algorithm(algorithm_options, space);

  settings.run_key = fingerprint_hex(nlohmann::json{{"checkpoint", checkpoint.run_key},
                                                    {"data", data_options.data},
                                                    {"train_size", data_options.train_size},
                                                    {"val_size", data_options.val_size},
                                                    {"finetune", {finetune.epochs, finetune.lr, finetune.batch_size}},
                                                    {"seed", algorithm_options.seed},
                                                    {"algo", algorithm_options.name},
                                                    {"ddpg",
                                                     {ddpg.hidden, ddpg.lr_critic, ddpg.lr_actor, ddpg.warmup,
                                                      ddpg.discount, ddpg.batch_size, ddpg.memory_per_step, ddpg.tau,
                                                      ddpg.init_delta, ddpg.delta_decay, ddpg.moving_alpha}},
                                                    {"space",
                                                     {space_options.min_bits, space_options.max_bits,
                                                      space_options.cell_bits, space_options.force_first_last}},
                                                    {"reward", reward_name},
                                                    {"max_acc_drop", settings.max_accuracy_drop},
                                                    {"cost_budget", settings.cost_budget},
                                                    {"chip", chip.fingerprint},
                                                    {"engine", engine->identity()}}
                                         .dump());
  spdlog::info("searching {} policies of {} ({} decisions) on {} with {}: {} training images, {} for validation",
               settings.episodes, checkpoint.spec.architecture, space.decisions().size(), chip.name,
               algorithm_options.name, data_options.train_size, data_options.val_size);
  const SearchResult result = run_search(*algorithm, space, *engine, evaluator, settings);
  if (cache) cache->flush();

  const EvaluatedPolicy& reference = result.history[result.reference];
  nlohmann::ordered_json summary = {{"network", checkpoint.spec.architecture},
                                    {"chip", chip.name},
                                    {"algorithm", algorithm_options.name},
                                    {"episodes", settings.episodes},
                                    {"reward", reward_name},
                                    {"reference", row_json(reference)},
                                    {"trainings", result.trainings},
                                    {"train_seconds", result.train_seconds},
                                    {"price_seconds", result.price_seconds}};
  if (settings.episodes > 0) summary["best"] = row_json(result.history[result.best]);
  write_file_atomically(out + "/search.json", summary.dump(2) + "\n");

  if (result.resumed_rows > 0) spdlog::info("resumed: {} evaluations read back from {}/search.sqlite", result.resumed_rows, out);
  std::printf("time: %.1f s fine-tuning and validating (%d trainings), %.2f s pricing on the chip\n",
              result.train_seconds, result.trainings, result.price_seconds);
  if (settings.episodes > 0) {
    const Evaluation& best = result.history[result.best].evaluation;
    std::printf("best policy %s: accuracy %.4f (W8A8 %.4f), latency %.4gx and energy %.4gx of W8A8, reward %.3f\n",
                policy_summary(result.history[result.best].policy).c_str(), best.accuracy, reference.evaluation.accuracy,
                best.latency_ns / reference.evaluation.latency_ns, best.energy_pj / reference.evaluation.energy_pj,
                best.reward);
    std::printf("written: %s/best_policy.yaml, %s/best_policy.npy, %s/history.csv\n", out.c_str(), out.c_str(), out.c_str());
  }
  return 0;
}

}  // namespace qxbar::cli
