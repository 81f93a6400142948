#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "experiments/recipe.h"
#include "experiments/sweep_plan.h"
#include "experiments/sweep_team.h"

namespace qxbar {

// What a co-design weighs, as a co-design file's keys name them.
struct CodesignOptions {
  NumberList budgets{{0.3, 0.4, 0.5, 0.6, 0.8}};  // fractions of each chip's W8A8 cost (the recipe's search.reward)
  int finalists = 3;          // candidates on accuracy target to measure before stopping
  int trainings = 10;         // most candidate accuracies measured by fine-tuning
  double area_limit_mm2 = 0;  // chips larger are not candidates; 0: no limit
};
OptionSet codesign_options(CodesignOptions& options);

// A co-design file (experiments/codesign/*.yaml), read strictly: the recipe that trains the network and
// says how candidates are fine-tuned and priced, with overrides of its keys (recipe_set, as `--set`), a grid
// of chip keys over the recipe's chip (as a sweep's), and the options above.
struct CodesignPlan {
  std::string file;
  std::string recipe_path;
  Recipe recipe;
  std::vector<SweepAxis> axes;
  CodesignOptions options;
};

// `recipe_overrides` ("dotted.key=value") apply to the recipe after the file's recipe_set, as
// `qxbar run --set` does.
CodesignPlan load_codesign(const std::string& path, const std::vector<std::string>& recipe_overrides = {});

// One (chip, budget) point as the report shows it.
struct CodesignPoint {
  std::vector<std::string> chip;  // a value per swept key
  double budget = 0;
  std::string policy;
  double objective = 0;
  double latency_ns = 0;
  double energy_pj = 0;
  double area_mm2 = 0;
  std::optional<double> accuracy;  // validation accuracy after the candidates' fine-tune, where measured
};

// "key=value ..." of a chip of the grid.
std::string chip_label(const std::vector<std::string>& axes, const std::vector<std::string>& values);

struct CodesignOutcome {
  std::vector<std::string> axes;
  std::size_t chips = 0;
  std::size_t invalid_chips = 0;  // chips with no policy within any budget (or that cannot exist, or run the network)
  std::size_t points = 0;         // chips x budgets
  std::size_t feasible = 0;       // points with a policy within budget
  // Chips whose arithmetic loses the accuracy target at W8A8 already (candidates fine-tuned as the chip
  // computes only): their points are no candidates.
  std::size_t screened_out = 0;
  std::size_t candidates = 0;     // feasible points of chips kept, within the area limit
  std::size_t pareto = 0;         // candidates no other beats in objective, latency, energy and area at once
  double int8_accuracy = 0;       // test accuracy of the INT8 model
  double reference_accuracy = 0;  // W8A8 validation accuracy after the candidates' fine-tune
  double target = 0;              // reference less the recipe's search.max_acc_drop
  std::vector<CodesignPoint> measured;  // in the order they were visited (cheapest first)
  std::optional<CodesignPoint> best;    // the cheapest measured point on target
  int trainings = 0;                    // fine-tunes this invocation ran (earlier ones are read back)
  std::size_t priced = 0;               // points this invocation priced (the others were stored before)
  double pricing_seconds = 0;           // of this invocation's pricing, by the whole team
  std::string database;
  std::string table_path;  // codesign.md
};

// Runs a co-design in `directory`: the recipe's fp32 and int8 stages, LIMPQ's indicators trained once from
// the INT8 model, then for every chip of the grid its per-layer costs priced and LIMPQ's integer program
// solved per budget (the points go to codesign/points.sqlite, a sweep database); then the Pareto set over
// (objective, latency, energy, area) and the cheapest candidates measured by fine-tuning until enough are
// on target; codesign.json, codesign.md and figures/. Resumable: stored points are not priced again nor
// measured accuracies trained again. With a team of several ranks, every rank prices its share of the chips
// and rank 0 does the rest; only rank 0's outcome counts.
CodesignOutcome run_codesign(const CodesignPlan& plan, const std::string& directory, bool resume, SweepTeam& team);

}  // namespace qxbar
