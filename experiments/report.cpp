#include "experiments/report.h"

#include <cstdio>
#include <filesystem>
#include <vector>

#include "plots/breakdown.h"
#include "plots/search_figures.h"
#include "sim/core/atomic_file.h"
#include "sim/core/errors.h"

namespace qxbar {
namespace {

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f%%", 100 * fraction);
  return text;
}

std::string fixed(double value, int decimals) {
  char text[32];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string ratio(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3fx", value);
  return text;
}

std::string report_markdown(const Recipe& recipe, const std::string& recipe_path, const RunSummary& s,
                            const Workload& workload, const Policy& policy) {
  std::string md = "# " + recipe.network.architecture + " on " + recipe.data.name + ", chip " + recipe.chip + "\n\n";
  md += "Recipe `" + recipe_path + "` (resolved in `recipe.yaml`), seed " + std::to_string(recipe.seed) + ".\n\n";
  md += "| model | test accuracy | latency [us] | energy [uJ] |\n|---|---|---|---|\n";
  md += "| FP32 | " + percent(s.fp32_accuracy) + " | | |\n";
  md += "| INT8 (W8A8) | " + percent(s.int8_accuracy) + " | " + fixed(s.latency_w8a8_ns / 1e3, 1) + " | " +
        fixed(s.energy_w8a8_pj / 1e6, 4) + " |\n";
  md += "| chosen policy, fine-tuned | " + percent(s.final_accuracy) + " (integer arithmetic: " + percent(s.integer_accuracy) +
        ", as the chip computes: " + percent(s.chip_accuracy) +
        (s.chip_noise_seeds > 1 ? " +- " + percent(s.chip_accuracy_std) + " over " + std::to_string(s.chip_noise_seeds) + " noise seeds" : "") +
        ") | " + fixed(s.latency_ns / 1e3, 1) + " (" + ratio(s.latency_ns / s.latency_w8a8_ns) + ") | " +
        fixed(s.energy_pj / 1e6, 4) + " (" + ratio(s.energy_pj / s.energy_w8a8_pj) + ") |\n\n";
  md += "Chosen policy `" + s.policy + "`:\n\n| layer | kind | weight bits | activation bits |\n|---|---|---|---|\n";
  for (std::size_t i = 0; i < policy.layers.size(); ++i) {
    md += "| " + workload.layers[i].name + " | " + to_string(workload.layers[i].kind) + " | " +
          weight_bits_text(policy.layers[i]) + " | " + std::to_string(policy.layers[i].a) + " |\n";
  }
  const PolicySearchRequest& search = recipe.search;
  md += "\nSearch (" + search.algorithm.name + ", " + std::to_string(search.settings.episodes) + " episodes, reward " +
        search.settings.reward + "): " + std::to_string(s.trainings) + " policies trained in " + fixed(s.train_seconds, 0) +
        " s; pricing took " + fixed(s.price_seconds, 3) + " s. Every evaluated policy is in `search/history.csv`.\n\n";
  for (const char* figure : {"pareto_latency", "pareto_energy", "bits", "latency_breakdown", "energy_breakdown", "progress"}) {
    md += std::string("![") + figure + "](figures/" + figure + ".png)\n\n";
  }
  return md;
}

}  // namespace

std::string write_report(const Recipe& recipe, const std::string& recipe_path, const RunSummary& summary,
                         const ChipSpec& chip, const Workload& workload, const Policy& policy,
                         const std::string& search_directory, const std::string& run_directory) {
  const std::filesystem::path run(run_directory);
  const SearchRunData search = read_search_run(search_directory);
  std::vector<Figure> figures = search_figures({search});
  const std::size_t best = best_searched(search.rows);
  NetworkCost chosen;
  if (best < search.rows.size()) chosen.layers = search.rows[best].layer_costs;
  if (chosen.layers.size() != workload.layers.size()) {
    throw DataError(search_directory + "/search.sqlite: holds no per-layer costs of the chosen policy (written by "
                    "an earlier qxbar); run the search again in a new folder");
  }
  for (Figure& figure : breakdown_figures(workload, chosen,
                                          recipe.network.architecture + " " + summary.policy + " on " + chip.name)) {
    figures.push_back(std::move(figure));
  }
  for (const Figure& figure : figures) render(figure, (run / "figures").string(), {"png", "svg"});
  const std::string path = (run / "report.md").string();
  write_file_atomically(path, report_markdown(recipe, recipe_path, summary, workload, policy));
  return path;
}

}  // namespace qxbar
