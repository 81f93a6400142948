#pragma once

#include <optional>
#include <string>
#include <vector>

#include "search/evaluation.h"
#include "sim/core/policy.h"
#include "sim/cost_engine.h"
#include "sim/core/sqlite_db.h"

namespace qxbar {

// One evaluated policy of a run, as history.csv and the plots show it.
struct EvaluatedPolicy {
  enum class Kind { Baseline, Search };
  Kind kind = Kind::Search;
  int episode = 0;    // 1-based for searched policies; 0 for baselines
  std::string label;  // W4A4 for uniform baselines, empty for searched policies
  Policy policy;
  Evaluation evaluation;
  double train_seconds = 0;  // spent fine-tuning and validating (0 when an earlier result was reused)
  double price_seconds = 0;  // spent pricing on the chip
  // Of a priced policy, per layer: latency, the part spent writing weights, and energy by component, so
  // that figures of any stored policy need no cost engine.
  std::vector<LayerCost> layer_costs;
};

// The run's evaluated policies in SQLite (DIR/search.sqlite), one committed transaction per evaluation (its
// row and its layers' costs), so a run killed at any instant (SIGKILL included) keeps every finished
// evaluation and nothing half-written.
class SearchStore {
 public:
  explicit SearchStore(const std::string& path);

  // What identifies the run that filled the store; resuming needs the same key.
  std::optional<std::string> run_key() const;
  void set_run_key(const std::string& key);

  std::vector<EvaluatedPolicy> load() const;  // in evaluation order
  void append(const EvaluatedPolicy& row);

 private:
  SqliteDb db_;
};

// The searched policy with the highest reward, the earliest among equals: what a run chooses. rows.size()
// when no policy was searched yet.
std::size_t best_searched(const std::vector<EvaluatedPolicy>& rows);

// history.csv: episode, kind, label, status, reward, accuracy, latency_ns, energy_pj, cost_ratio, policy.
std::string history_csv(const std::vector<EvaluatedPolicy>& rows);

}  // namespace qxbar
