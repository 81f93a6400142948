#include <cstdio>

#include "experiments/cli.h"
#include "experiments/policy_search.h"

namespace qxbar::cli {

int run_search(const std::vector<std::string>& args) {
  ChipOptions chip_options;
  CacheOptions cache_options;
  DataCommandOptions data_options;
  PolicySearchRequest request;
  SearchSettings& settings = request.settings;
  const OptionSet search_flags = search_request_options(request);
  po::options_description options("search options");
  chip_options.add_to(options);
  options.add_options()
      ("net", po::value(&request.network), "network; must be the checkpoint's (default: the checkpoint's)")
      ("from", po::value(&request.checkpoint)->required(), "quantized (INT8) checkpoint every candidate is fine-tuned from")
      ("out", po::value(&settings.out_dir)->required(), "run folder: search.sqlite, history.csv, best_policy.yaml/.npy, search.json")
      ("seed", po::value(&request.algorithm.seed)->default_value(request.algorithm.seed),
       "seed of the algorithm, the data split and fine-tuning")
      ("resume", po::bool_switch(&settings.resume), "continue the search stored in --out");
  add_options(options, search_flags);
  std::vector<OptionSet> algorithm_flags;
  for (const SearchAlgorithmEntry& entry : search_algorithms().entries()) {
    algorithm_flags.push_back(request.algorithm.parameters(entry.name).options());
    add_options(options, algorithm_flags.back());
  }
  cache_options.add_to(options);
  data_options.add_to(options, false);
  po::variables_map values;
  if (!parse_command_line("search", args, options, values)) return 0;
  check_flags(search_flags);
  for (const OptionSet& flags : algorithm_flags) check_flags(flags);
  data_options.check_and_apply();
  // Unless asked otherwise, candidates are fine-tuned on the data the checkpoint was trained on.
  request.data = data_options.data;
  if (values["data"].defaulted()) request.data.name.clear();

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
    const std::string out = settings.out_dir;
    const bool npy = !result.history[result.best].policy.is_per_channel();  // see write_policy_files
    std::printf("written: %s/best_policy.yaml, %s%s/history.csv\n", out.c_str(),
                npy ? (out + "/best_policy.npy, ").c_str() : "", out.c_str());
  }
  return 0;
}

}  // namespace qxbar::cli
