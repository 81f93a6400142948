#include <spdlog/fmt/fmt.h>

#include <cstdio>

#include "experiments/cli.h"
#include "experiments/policy_search.h"

namespace qxbar::cli {

int run_search(const std::vector<std::string>& args) {
  ChipOptions chip_options;
  CacheOptions cache_options;
  DataCommandOptions data_options;
  std::string reward_name;
  PolicySearchRequest request;
  SearchSettings& settings = request.settings;
  DdpgOptions& ddpg = request.algorithm.ddpg;
  po::options_description options("search options");
  chip_options.add_to(options);
  options.add_options()
      ("net", po::value(&request.network), "network; must be the checkpoint's (default: the checkpoint's)")
      ("from", po::value(&request.checkpoint)->required(), "quantized (INT8) checkpoint every candidate is fine-tuned from")
      ("out", po::value(&settings.out_dir)->required(), "run folder: search.sqlite, history.csv, best_policy.yaml/.npy, search.json")
      ("algo", po::value(&request.algorithm.name)->default_value("ddpg"), "search algorithm: ddpg | random")
      ("episodes", po::value(&settings.episodes)->default_value(100), "policies the algorithm proposes")
      ("max-acc-drop", po::value(&settings.max_accuracy_drop)->default_value(1.0),
       "accuracy points below the W8A8 policy's that still meet the target")
      ("reward", po::value(&reward_name)->default_value("latency"), "cost to minimise: latency | energy | edp")
      ("cost-budget", po::value(&settings.cost_budget)->default_value(0.0),
       "accuracy-constrained search: cost budget as a fraction of W8A8's (0: CIM-AQ's reward instead)")
      ("min-bit", po::value(&request.space.min_bits)->default_value(2), "fewest bits of a layer")
      ("max-bit", po::value(&request.space.max_bits)->default_value(8), "most bits of a layer")
      ("cell-resolution", po::bool_switch(&request.cell_resolution), "weight bits only in multiples of the chip's cell bits")
      ("force-first-last", po::bool_switch(&request.space.force_first_last), "keep the first and last layer at 8/8 bits")
      ("finetune-epochs", po::value(&request.finetune.epochs)->default_value(1), "fine-tuning epochs per candidate (0: none)")
      ("finetune-lr", po::value(&request.finetune.lr)->default_value(0.01), "fine-tuning learning rate (SGD, cosine)")
      ("batch-size", po::value(&request.finetune.batch_size)->default_value(128), "fine-tuning images per step")
      ("seed", po::value(&request.algorithm.seed)->default_value(0), "seed of the agent, the data split and fine-tuning")
      ("resume", po::bool_switch(&settings.resume), "continue the search stored in --out")
      ("engine", po::value(&request.engine)->default_value("systemc"), "cost engine: systemc | analytical");
  for (const DdpgParameter& parameter : ddpg_parameters()) {
    const std::string meaning = std::string("DDPG: ") + parameter.meaning;
    std::visit([&](auto field) {
      // fmt prints the shortest text that reads back exactly (0.99, where a stream prints 0.98999999999999999).
      const std::string shown = fmt::format("{}", ddpg.*field);
      options.add_options()(parameter.option, po::value(&(ddpg.*field))->default_value(ddpg.*field, shown),
                            meaning.c_str());
    }, parameter.field);
  }
  cache_options.add_to(options);
  data_options.add_to(options, "", 10000, 5000);
  po::variables_map values;
  if (!parse_command_line("search", args, options, values)) return 0;
  settings.metric = parse_cost_metric(reward_name);

  request.data = data_options.options();
  request.chip = chip_options.load();
  request.cache = cache_options.open();
  const SearchResult result = search_policy(request);

  std::printf("time: %.1f s fine-tuning and validating (%d trainings), %.2f s pricing on the chip\n",
              result.train_seconds, result.trainings, result.price_seconds);
  if (settings.episodes > 0) {
    const EvaluatedPolicy& reference = result.history[result.reference];
    const Evaluation& best = result.history[result.best].evaluation;
    std::printf("best policy %s: accuracy %.4f (W8A8 %.4f), latency %.4gx and energy %.4gx of W8A8, reward %.3f\n",
                policy_summary(result.history[result.best].policy).c_str(), best.accuracy, reference.evaluation.accuracy,
                best.latency_ns / reference.evaluation.latency_ns, best.energy_pj / reference.evaluation.energy_pj,
                best.reward);
    const char* out = settings.out_dir.c_str();
    std::printf("written: %s/best_policy.yaml, %s/best_policy.npy, %s/history.csv\n", out, out, out);
  }
  return 0;
}

}  // namespace qxbar::cli
