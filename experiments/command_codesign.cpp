#include <cstdio>
#include <filesystem>

#include "experiments/cli.h"
#include "experiments/codesign.h"

namespace qxbar::cli {

int run_codesign(const std::vector<std::string>& args) {
  std::string plan_path;
  std::string out;
  std::vector<std::string> overrides;
  bool resume = false;
  ThreadOptions threads;
  po::options_description options("codesign options");
  options.add_options()
      ("plan", po::value(&plan_path)->required(), "co-design file (positional), e.g. experiments/codesign/lenet5_cimaq.yaml")
      ("out", po::value(&out), "run folder (default: runs/<file name>)")
      ("set", po::value(&overrides)->composing(), "override one key of the recipe it names, e.g. --set fp32.epochs=4 (repeatable)")
      ("resume", po::bool_switch(&resume), "continue the co-design in --out: stored points and accuracies are kept");
  threads.add_to(options);
  po::positional_options_description positional;
  positional.add("plan", 1);
  po::variables_map values;
  if (!parse_command_line("codesign", args, options, values, positional)) return 0;
  threads.apply();
  const CodesignPlan plan = load_codesign(plan_path, overrides);
  if (out.empty()) out = "runs/" + std::filesystem::path(plan_path).stem().string();

  const std::unique_ptr<SweepTeam> team = join_sweep_team();
  CodesignOutcome outcome;
  if (const int code = run_as_team_member(*team, [&] { outcome = qxbar::run_codesign(plan, out, resume, *team); }); code != 0) {
    return code;
  }
  if (team->rank() != 0) return 0;
  std::printf("\n%s: %zu chips x %zu budgets = %zu points, %zu within budget, %zu candidates, %zu on the Pareto set\n",
              out.c_str(), outcome.chips, plan.options.budgets.values.size(), outcome.points, outcome.feasible,
              outcome.candidates, outcome.pareto);
  if (outcome.screened_out > 0) std::printf("  screened  %zu chips lose the target at W8A8 as they compute\n", outcome.screened_out);
  std::printf("  pricing   %zu points in %.2f s by %zu process%s; %d fine-tunes now\n", outcome.priced, outcome.pricing_seconds,
              team->size(), team->size() == 1 ? "" : "es", outcome.trainings);
  std::printf("  target    %.4f (W8A8 validation accuracy %.4f less %.2f points)\n", outcome.target,
              outcome.reference_accuracy, plan.recipe.search.settings.max_accuracy_drop);
  for (const CodesignPoint& point : outcome.measured) {
    const std::string chip = chip_label(outcome.axes, point.chip);
    std::printf("  %s %-40s budget %-5g accuracy %.4f latency %8.2f us energy %8.4f uJ area %7.3f mm^2  %s\n",
                outcome.best && point.chip == outcome.best->chip && point.budget == outcome.best->budget ? "*" : " ",
                chip.c_str(), point.budget, point.accuracy.value_or(0), point.latency_ns / 1e3, point.energy_pj / 1e6,
                point.area_mm2, point.policy.c_str());
  }
  std::printf("  %s\n  report    %s\n", outcome.best ? "* the cheapest measured on target" : "no measured candidate reached the target",
              outcome.table_path.c_str());
  return 0;
}

}  // namespace qxbar::cli
