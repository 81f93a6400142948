#include "experiments/workflow.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "nn/trainer.h"
#include "experiments/report.h"
#include "experiments/run_folder.h"
#include "plots/search_figures.h"
#include "sim/core/atomic_file.h"

namespace qxbar {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

RunSummary run_recipe(const Recipe& recipe, const std::string& recipe_path, const std::string& directory, bool resume) {
  RecipeRun run(recipe, recipe_path, directory, resume);
  const auto [fp32_accuracy, int8_accuracy] = run.prepare();
  const RecipeRun::Finished finished = run.search_and_finish(recipe.search.algorithm.name, "search", "final");
  const Json& result = finished.results;
  const Policy& policy = finished.policy;

  RunSummary summary;
  summary.fp32_accuracy = fp32_accuracy;
  summary.int8_accuracy = int8_accuracy;
  summary.final_accuracy = result.at("test_accuracy").get<double>();
  summary.integer_accuracy = result.at("integer_test_accuracy").get<double>();
  summary.chip_accuracy = result.at("chip_test_accuracy").get<double>();
  summary.chip_accuracy_std = result.value("chip_test_accuracy_std", 0.0);  // absent from older runs
  summary.chip_noise_seeds = result.value("chip_noise_seeds", 1);
  summary.latency_ns = result.at("latency_ns").get<double>();
  summary.latency_w8a8_ns = result.at("latency_w8a8_ns").get<double>();
  summary.energy_pj = result.at("energy_pj").get<double>();
  summary.energy_w8a8_pj = result.at("energy_w8a8_pj").get<double>();
  summary.policy = result.at("policy").get<std::string>();
  summary.trainings = result.at("trainings").get<int>();
  summary.train_seconds = result.at("train_seconds").get<double>();
  summary.price_seconds = result.at("price_seconds").get<double>();
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
  const fs::path folder(directory);
  write_file_atomically((folder / "summary.json").string(), summary_json.dump(2) + "\n");
  const Workload workload = Model(model_spec(recipe, true)).workload();
  write_policy_files((folder / "best_policy").string(), workload, policy);

  summary.report_path = write_report(recipe, recipe_path, summary, run.chip(), workload, policy,
                                     finished.search_directory, directory);
  return summary;
}

Comparison compare_algorithms(const Recipe& recipe, const std::string& recipe_path, const std::vector<std::string>& algorithms,
                              const std::string& directory, bool resume) {
  if (algorithms.empty()) throw ConfigError("--algos: name at least one algorithm");
  for (std::size_t i = 0; i < algorithms.size(); ++i) {
    search_algorithms().at(algorithms[i], "--algos");
    if (std::find(algorithms.begin(), algorithms.begin() + static_cast<std::ptrdiff_t>(i), algorithms[i]) !=
        algorithms.begin() + static_cast<std::ptrdiff_t>(i)) {
      throw ConfigError("--algos: " + algorithms[i] + " is named twice");
    }
  }
  RecipeRun run(recipe, recipe_path, directory, resume);
  Comparison comparison;
  comparison.int8_accuracy = run.prepare().second;
  std::vector<SearchRunData> searches;
  Json table = Json::array();
  for (const std::string& algorithm : algorithms) {
    const RecipeRun::Finished finished = run.search_and_finish(algorithm, "search-" + algorithm, "final-" + algorithm);
    const Json& result = finished.results;
    ComparedAlgorithm row;
    row.algorithm = algorithm;
    row.policy = result.at("policy").get<std::string>();
    row.test_accuracy = result.at("test_accuracy").get<double>();
    row.latency_ratio = result.at("latency_ns").get<double>() / result.at("latency_w8a8_ns").get<double>();
    row.energy_ratio = result.at("energy_pj").get<double>() / result.at("energy_w8a8_pj").get<double>();
    row.trainings = result.at("trainings").get<int>();
    row.search_seconds = result.at("wall_seconds").get<double>();
    row.evaluations = result.at("evaluations").get<int>();
    row.best_evaluation = result.at("best_episode").get<int>();
    comparison.algorithms.push_back(row);
    table.push_back({{"algorithm", row.algorithm},           {"policy", row.policy},
                     {"test_accuracy", row.test_accuracy},   {"latency_ratio", row.latency_ratio},
                     {"energy_ratio", row.energy_ratio},     {"trainings", row.trainings},
                     {"search_seconds", row.search_seconds}, {"evaluations", row.evaluations},
                     {"best_evaluation", row.best_evaluation}});
    SearchRunData data = read_search_run(finished.search_directory);
    data.name = algorithm;
    searches.push_back(std::move(data));
  }

  const fs::path folder(directory);
  write_file_atomically((folder / "compare.json").string(),
                        Json{{"int8_accuracy", comparison.int8_accuracy}, {"algorithms", table}}.dump(2) + "\n");
  std::string md = "# " + recipe.network.architecture + " on " + recipe.data.name + ", chip " + run.chip().name +
                   ": search algorithms compared\n\n";
  char line[512];
  std::snprintf(line, sizeof line, "Reward %s, seed %llu, INT8 test accuracy %.4f. Accuracy is the test set's after the final fine-tune.\n\n",
                recipe.search.settings.reward.c_str(), static_cast<unsigned long long>(recipe.seed), comparison.int8_accuracy);
  md += line;
  md += "| algorithm | test accuracy | latency | energy | trainings | search time [s] | evaluations | best at | policy |\n"
        "|---|---|---|---|---|---|---|---|---|\n";
  for (const ComparedAlgorithm& row : comparison.algorithms) {
    std::snprintf(line, sizeof line, "| %s | %.4f | %.3fx | %.3fx | %d | %.1f | %d | %d | %s |\n", row.algorithm.c_str(),
                  row.test_accuracy, row.latency_ratio, row.energy_ratio, row.trainings, row.search_seconds,
                  row.evaluations, row.best_evaluation, row.policy.c_str());
    md += line;
  }
  md += "\n![pareto_latency](figures/pareto_latency.png)\n\n![pareto_energy](figures/pareto_energy.png)\n\n"
        "![progress](figures/progress.png)\n\n![bits](figures/bits.png)\n";
  for (const Figure& figure : search_figures(searches)) render(figure, (folder / "figures").string(), {"png", "svg"});
  comparison.table_path = (folder / "compare.md").string();
  write_file_atomically(comparison.table_path, md);
  return comparison;
}

}  // namespace qxbar
