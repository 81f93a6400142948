#include <cstdio>
#include <filesystem>

#include "experiments/cli.h"
#include "experiments/workflow.h"
#include "sim/core/errors.h"

namespace qxbar::cli {
namespace {

std::vector<std::string> comma_separated(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (part.empty()) throw ConfigError("--algos " + text + ": an empty name");
    parts.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

}  // namespace

int run_compare(const std::vector<std::string>& args) {
  std::string recipe_path;
  std::string algos = "ddpg,random,limpq,memory";
  std::string out;
  std::vector<std::string> overrides;
  bool resume = false;
  ThreadOptions threads;
  po::options_description options("compare options");
  options.add_options()
      ("recipe", po::value(&recipe_path)->required(), "recipe file (positional), e.g. experiments/quickstart.yaml")
      ("algos", po::value(&algos)->default_value(algos), "search algorithms, comma-separated")
      ("out", po::value(&out), "run folder (default: runs/<recipe name>-compare)")
      ("set", po::value(&overrides)->composing(), "override one recipe key, e.g. --set search.episodes=40 (repeatable)")
      ("resume", po::bool_switch(&resume), "continue the comparison in --out: finished stages are kept");
  threads.add_to(options);
  po::positional_options_description positional;
  positional.add("recipe", 1);
  po::variables_map values;
  if (!parse_command_line("compare", args, options, values, positional)) return 0;
  threads.apply();
  const std::vector<std::string> algorithms = comma_separated(algos);
  const Recipe recipe = load_recipe(recipe_path, overrides);
  if (out.empty()) out = "runs/" + std::filesystem::path(recipe_path).stem().string() + "-compare";
  const Comparison comparison = compare_algorithms(recipe, recipe_path, algorithms, out, resume);
  std::printf("\n%s: %s on %s, INT8 test accuracy %.4f\n", out.c_str(), recipe.network.architecture.c_str(),
              recipe.chip.c_str(), comparison.int8_accuracy);
  std::printf("  %-8s %9s %8s %8s %9s %8s  %s\n", "", "accuracy", "latency", "energy", "trainings", "time [s]", "policy");
  for (const ComparedAlgorithm& row : comparison.algorithms) {
    std::printf("  %-8s %9.4f %7.3fx %7.3fx %9d %8.1f  %s\n", row.algorithm.c_str(), row.test_accuracy, row.latency_ratio,
                row.energy_ratio, row.trainings, row.search_seconds, row.policy.c_str());
  }
  std::printf("  table     %s\n", comparison.table_path.c_str());
  return 0;
}

}  // namespace qxbar::cli
