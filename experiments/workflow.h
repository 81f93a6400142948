#pragma once

#include <string>
#include <vector>

#include "experiments/recipe.h"

namespace qxbar {

// The headline of a run, as summary.json holds it.
struct RunSummary {
  double fp32_accuracy = 0;
  double int8_accuracy = 0;
  double final_accuracy = 0;
  double integer_accuracy = 0;  // the final model with folded batch norms and integer matrix products
  double chip_accuracy = 0;     // the same computed as the chip computes (crossbar arithmetic)
  double chip_accuracy_std = 0;  // its standard deviation over programmings of a noisy chip
  int chip_noise_seeds = 1;
  double latency_ns = 0;
  double latency_w8a8_ns = 0;
  double energy_pj = 0;
  double energy_w8a8_pj = 0;
  std::string policy;
  int trainings = 0;  // of the search: policies fine-tuned, the time that took, and pricing time
  double train_seconds = 0;
  double price_seconds = 0;
  std::string report_path;
};

// Runs a recipe's stages in `directory`: fp32/ (pretraining), int8/ (QAT at W8A8 from it), search/,
// final/ (the chosen policy fine-tuned from the INT8 model on the full training set and tested, also
// with integer arithmetic), then summary.json, report.md and figures/. A stage whose inputs are unchanged
// is not run again; an interrupted stage resumes where it stopped (training epochs, search episodes);
// a stage whose inputs changed starts over, and so does everything after it. A folder holding a run is
// continued only with `resume`.
RunSummary run_recipe(const Recipe& recipe, const std::string& recipe_path, const std::string& directory, bool resume);

// One algorithm of a comparison: its chosen policy after the final fine-tune, and what the search cost.
struct ComparedAlgorithm {
  std::string algorithm;
  std::string policy;
  double test_accuracy = 0;  // after the final fine-tune
  double latency_ratio = 0;  // of W8A8's on the chip
  double energy_ratio = 0;
  int trainings = 0;          // policies the search fine-tuned
  double search_seconds = 0;  // wall time of the search (of the process that finished it, when resumed)
  int evaluations = 0;        // policies the algorithm proposed
  int best_evaluation = 0;    // the one that became the result, counted from 1
};

struct Comparison {
  double int8_accuracy = 0;
  std::vector<ComparedAlgorithm> algorithms;
  std::string table_path;  // compare.md
};

// Runs the recipe's fp32 and int8 stages once in `directory`, then for each of `algorithms` its search
// (search-<algo>/) and final stage (final-<algo>/), all from the same INT8 checkpoint, chip, reward,
// budget and seed; writes compare.md, compare.json and figures/ (every algorithm's evaluated points and
// fronts overlaid, best reward against evaluations). Resumable and keyed like run_recipe.
Comparison compare_algorithms(const Recipe& recipe, const std::string& recipe_path, const std::vector<std::string>& algorithms,
                              const std::string& directory, bool resume);

}  // namespace qxbar
