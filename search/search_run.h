#pragma once

#include <string>
#include <vector>

#include "search/algorithm.h"
#include "search/reward.h"
#include "search/search_store.h"
#include "search/space.h"
#include "sim/cost_engine.h"

namespace qxbar {

struct SearchSettings {
  int episodes = 100;
  std::string reward = "latency";  // the cost metric to minimise
  double max_accuracy_drop = 1.0;  // points below the W8A8 accuracy that still count as on target
  // Given: the accuracy-constrained variant. Policies costing more than this fraction of W8A8 (the
  // largest, when an algorithm answers several) are not trained; the others are rewarded by accuracy alone.
  NumberList cost_budget;
  std::string out_dir;
  bool resume = false;
  bool show_progress = true;
  std::string run_key;  // fingerprint of everything that shapes the results, episodes excepted
};

struct SearchResult {
  std::vector<EvaluatedPolicy> history;  // baselines, then one row per episode
  std::size_t best = 0;                  // index into history of the best searched policy
  std::size_t reference = 0;             // index of the W8A8 baseline
  std::size_t resumed_rows = 0;          // rows read back from an interrupted run instead of evaluated
  double train_seconds = 0;
  double price_seconds = 0;
  int trainings = 0;  // evaluations that fine-tuned a network (others reused an earlier result or were over budget)
};

// Evaluates the uniform baselines, then `episodes` policies the algorithm asks for, recording every
// evaluation in DIR/search.sqlite and keeping DIR/history.csv and DIR/best_policy.{yaml,npy} current.
// With settings.resume, the evaluations already stored are told to the algorithm again instead of
// repeated, so the run ends as an uninterrupted one would.
// Episodes, reward, target and budget, as recipes (search.<key>) and `qxbar search` flags name them. Episodes
// stay out of run keys: a finished run resumed with more episodes goes on.
OptionSet search_settings_options(SearchSettings& settings);

SearchResult run_search(SearchAlgorithm& algorithm, const PolicySpace& space, const CostEngine& engine,
                        AccuracyEvaluator& evaluator, const SearchSettings& settings);

}  // namespace qxbar
