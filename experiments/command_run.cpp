#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "experiments/cli.h"
#include "experiments/workflow.h"

namespace qxbar::cli {

int run_run(const std::vector<std::string>& args) {
  std::string recipe_path;
  std::string out;
  std::vector<std::string> overrides;
  bool resume = false;
  ThreadOptions threads;
  po::options_description options("run options");
  options.add_options()
      ("recipe", po::value(&recipe_path)->required(), "recipe file (positional), e.g. experiments/quickstart.yaml")
      ("out", po::value(&out), "run folder (default: runs/<recipe name>)")
      ("set", po::value(&overrides)->composing(), "override one recipe key, e.g. --set search.episodes=40 (repeatable)")
      ("resume", po::bool_switch(&resume), "continue the run in --out: finished stages are kept, an interrupted one goes on");
  threads.add_to(options);
  po::positional_options_description positional;
  positional.add("recipe", 1);
  po::variables_map values;
  if (!parse_command_line("run", args, options, values, positional)) return 0;
  threads.apply();
  const Recipe recipe = load_recipe(recipe_path, overrides);
  if (out.empty()) out = "runs/" + std::filesystem::path(recipe_path).stem().string();
  const RunSummary summary = run_recipe(recipe, recipe_path, out, resume);
  std::printf("\n%s: %s on %s\n", out.c_str(), recipe.network.architecture.c_str(), recipe.chip.c_str());
  std::printf("  accuracy  FP32 %.4f, INT8 %.4f, chosen policy %.4f (integer arithmetic %.4f, on the chip %.4f",
              summary.fp32_accuracy, summary.int8_accuracy, summary.final_accuracy, summary.integer_accuracy,
              summary.chip_accuracy);
  if (summary.chip_noise_seeds > 1) {
    std::printf(" +- %.4f over %d noise seeds", summary.chip_accuracy_std, summary.chip_noise_seeds);
  }
  std::printf(")\n");
  std::printf("  latency   %.1f us = %.3fx of W8A8 (%.1f us)\n", summary.latency_ns / 1e3,
              summary.latency_ns / summary.latency_w8a8_ns, summary.latency_w8a8_ns / 1e3);
  std::printf("  energy    %.4f uJ = %.3fx of W8A8 (%.4f uJ)\n", summary.energy_pj / 1e6,
              summary.energy_pj / summary.energy_w8a8_pj, summary.energy_w8a8_pj / 1e6);
  std::printf("  policy    %s\n  report    %s\n", summary.policy.c_str(), summary.report_path.c_str());
  return 0;
}

}  // namespace qxbar::cli
