#include "search/search_run.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <limits>
#include <set>

#include "sim/core/atomic_file.h"
#include "sim/core/errors.h"
#include "sim/core/file_lock.h"
#include "sim/core/progress.h"

namespace qxbar {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void check(SearchSettings settings) {
  check_values(search_settings_options(settings), "search");
  if (settings.out_dir.empty()) throw ConfigError("search: a run folder is required");
}

class SearchRun {
 public:
  SearchRun(const PolicySpace& space, const CostEngine& engine, AccuracyEvaluator& evaluator, const SearchSettings& settings)
      : space_(space),
        engine_(engine),
        evaluator_(evaluator),
        settings_(settings),
        metric_(cost_metrics().at(settings.reward, "reward")),
        directory_(settings.out_dir),
        lock_((directory_ / "search").string(), settings.out_dir),
        store_((directory_ / "search.sqlite").string()) {
    stored_ = store_.load();
    const std::optional<std::string> key = store_.run_key();
    // A key without rows is a run that failed before its first evaluation: nothing to protect.
    if (!stored_.empty()) {
      if (!settings.resume) {
        throw ConfigError(settings.out_dir + ": holds a search already; pass --resume to continue it, or choose another --out");
      }
      if (key && *key != settings.run_key) {
        throw ConfigError(settings.out_dir + ": holds a search with other settings (network, chip, data, algorithm or seed); "
                          "choose another --out");
      }
    }
    store_.set_run_key(settings.run_key);
    for (const EvaluatedPolicy& row : stored_) {
      if (row.evaluation.accuracy >= 0) accuracies_[policy_summary(row.policy)] = row.evaluation.accuracy;
      if (row.evaluation.status == EvaluationStatus::Diverged) diverged_.insert(policy_summary(row.policy));
    }
    reference_cost_ = metric_.of(price_network(engine_, space_.workload(), space_.reference()));
  }

  SearchResult run(SearchAlgorithm& algorithm) {
    // With and without the chip's cell resolution, whether or not the search is restricted to it.
    const std::vector<PolicySpace::Baseline> baselines = space_.baselines(engine_.chip().crossbar.cell_bits);
    train_baselines_ = algorithm.trains_baselines();
    Progress baseline_progress("baselines", static_cast<std::int64_t>(baselines.size()), "policies");
    for (const PolicySpace::Baseline& baseline : baselines) {
      const EvaluatedPolicy& row = next(EvaluatedPolicy::Kind::Baseline, 0, baseline.label, baseline.policy);
      if (settings_.show_progress) baseline_progress.update(static_cast<std::int64_t>(result_.history.size()), describe(row));
    }
    if (settings_.show_progress) baseline_progress.finish();

    const auto replayed = std::count_if(stored_.begin(), stored_.end(), [](const EvaluatedPolicy& row) {
      return row.kind == EvaluatedPolicy::Kind::Search;
    });
    Progress progress("search", settings_.episodes, "episodes", replayed);
    int episode = 0;
    while (episode < settings_.episodes && !algorithm.finished()) {
      ++episode;
      const EvaluatedPolicy& row = next(EvaluatedPolicy::Kind::Search, episode, "", algorithm.ask());
      algorithm.tell(row.evaluation);
      if (settings_.show_progress) progress.update(episode, "best " + describe(result_.history[result_.best]));
    }
    if (settings_.show_progress) progress.finish(episode, "best " + describe(result_.history[result_.best]));
    return result_;
  }

 private:
  // The row `policy` comes to: read back from the store when an interrupted run got that far, else evaluated.
  const EvaluatedPolicy& next(EvaluatedPolicy::Kind kind, int episode, const std::string& label, const Policy& policy) {
    const std::size_t index = result_.history.size();
    if (index < stored_.size()) {
      const EvaluatedPolicy& row = stored_[index];
      if (row.kind != kind || row.episode != episode || policy_summary(row.policy) != policy_summary(policy)) {
        throw ConfigError(settings_.out_dir + "/search.sqlite: evaluation " + std::to_string(index + 1) + " holds " +
                          policy_summary(row.policy) + " where this run proposes " + policy_summary(policy) +
                          "; the store comes from another run, choose another --out");
      }
      result_.history.push_back(row);
      ++result_.resumed_rows;
    } else {
      result_.history.push_back(evaluate(kind, episode, label, policy));
      store_.append(result_.history.back());
    }
    const EvaluatedPolicy& row = result_.history.back();
    result_.train_seconds += row.train_seconds;
    if (row.train_seconds > 0) ++result_.trainings;
    result_.price_seconds += row.price_seconds;
    if (kind == EvaluatedPolicy::Kind::Baseline && label == "W8A8") result_.reference = index;
    const std::size_t best = best_searched(result_.history);
    if (best < result_.history.size()) result_.best = best;
    write_outputs();
    return row;
  }

  EvaluatedPolicy evaluate(EvaluatedPolicy::Kind kind, int episode, const std::string& label, const Policy& policy) {
    EvaluatedPolicy row{kind, episode, label, policy, {}, 0, 0, {}};
    Evaluation& e = row.evaluation;
    const bool reference = kind == EvaluatedPolicy::Kind::Baseline && label == "W8A8";
    const Clock::time_point priced = Clock::now();
    try {
      const NetworkCost cost = price_network(engine_, space_.workload(), policy);
      e.latency_ns = cost.latency_ns;
      e.energy_pj = cost.energy_pj.total();
      e.cost_ratio = metric_.of(cost) / reference_cost_;
      row.layer_costs = cost.layers;
    } catch (const UserError& error) {
      // One candidate the chip cannot run must not end a long search; the W8A8 reference was priced already.
      row.price_seconds = seconds_since(priced);
      e.status = EvaluationStatus::Invalid;
      e.reward = failure_reward(e);
      return row;
    }
    row.price_seconds = seconds_since(priced);
    const double budget = largest_budget();
    const bool over_budget = budget > 0 && e.cost_ratio > budget;
    e.status = over_budget ? EvaluationStatus::OverBudget : EvaluationStatus::Ok;
    if (kind == EvaluatedPolicy::Kind::Baseline && !reference && !train_baselines_) {
      e.status = EvaluationStatus::Priced;
      return row;
    }
    // Baselines are trained whatever their cost, so plots can compare them; searched policies over the
    // budget are not worth the training.
    if (!over_budget || kind == EvaluatedPolicy::Kind::Baseline) {
      const std::string key = policy_summary(policy);
      const auto known = accuracies_.find(key);
      if (known != accuracies_.end()) {
        e.accuracy = known->second;
      } else if (diverged_.count(key) != 0) {
        e.status = EvaluationStatus::Diverged;
      } else {
        const Clock::time_point trained = Clock::now();
        try {
          e.accuracy = evaluator_.accuracy(policy);
          accuracies_[key] = e.accuracy;
        } catch (const DivergedError& error) {
          if (reference) throw DivergedError(std::string("the W8A8 reference policy: ") + error.what());
          e.status = EvaluationStatus::Diverged;
          diverged_.insert(key);
        }
        row.train_seconds = seconds_since(trained);
      }
    }
    if (e.status == EvaluationStatus::Diverged) {
      e.reward = failure_reward(e);
      return row;
    }
    const double reference_points = 100.0 * (reference ? e.accuracy : result_.history[result_.reference].evaluation.accuracy);
    if (over_budget) {
      e.reward = budget_penalty(e.cost_ratio, budget);
    } else if (budget > 0) {
      e.reward = 100.0 * e.accuracy - reference_points;
    } else {
      e.reward = cimaq_reward(100.0 * e.accuracy, reference_points, settings_.max_accuracy_drop, e.cost_ratio);
    }
    return row;
  }

  // A policy that could not be priced or trained is rewarded as one that lost all accuracy, so every
  // algorithm learns to avoid it through the reward it already optimises.
  double failure_reward(const Evaluation& e) const {
    const double reference_points = 100.0 * result_.history[result_.reference].evaluation.accuracy;
    if (largest_budget() > 0) return -reference_points;
    return cimaq_reward(0.0, reference_points, settings_.max_accuracy_drop, e.cost_ratio);
  }

  // Several budgets ask for a front: a policy is over budget when it exceeds all of them. 0: no budget.
  double largest_budget() const {
    const std::vector<double>& budgets = settings_.cost_budget.values;
    return budgets.empty() ? 0 : *std::max_element(budgets.begin(), budgets.end());
  }

  static std::string describe(const EvaluatedPolicy& row) {
    char text[160];
    std::snprintf(text, sizeof text, "reward %.2f, accuracy %.4f, cost %.3fx (%s)", row.evaluation.reward,
                  row.evaluation.accuracy, row.evaluation.cost_ratio,
                  row.label.empty() ? policy_summary(row.policy).c_str() : row.label.c_str());
    return text;
  }

  void write_outputs() const {
    write_file_atomically((directory_ / "history.csv").string(), history_csv(result_.history));
    const EvaluatedPolicy& best = result_.history[result_.best];
    if (best.kind != EvaluatedPolicy::Kind::Search) return;
    write_policy_files((directory_ / "best_policy").string(), space_.workload(), best.policy);
  }

  const PolicySpace& space_;
  const CostEngine& engine_;
  AccuracyEvaluator& evaluator_;
  const SearchSettings& settings_;
  const CostMetric& metric_;
  std::filesystem::path directory_;
  FileLock lock_;
  SearchStore store_;
  std::vector<EvaluatedPolicy> stored_;
  std::map<std::string, double> accuracies_;
  std::set<std::string> diverged_;  // policies whose fine-tuning diverged: deterministic, so not tried again
  double reference_cost_ = 0;
  bool train_baselines_ = true;
  SearchResult result_;
};

}  // namespace

OptionSet search_settings_options(SearchSettings& settings) {
  using S = SearchSettings;
  constexpr double kNoMaximum = std::numeric_limits<double>::infinity();
  static const std::vector<Option<SearchSettings>> table = {
      {"episodes", "episodes", "policies the algorithm proposes", &S::episodes, {0}, nullptr, false},
      {"reward", "reward", "cost to minimise", &S::reward, {}, cost_metric_names, true,
       [] { return cost_metrics().help(); }},
      {"max_acc_drop", "max-acc-drop", "accuracy points below the W8A8 policy's that still meet the target",
       &S::max_accuracy_drop, {0}},
      {"cost_budget", "cost-budget",
       "accuracy-constrained search: cost budget as a fraction of W8A8's, or several (0.3,0.4,0.5) for a front "
       "with limpq (none: CIM-AQ's reward instead)",
       &S::cost_budget, {0, kNoMaximum, true}},
  };
  return bind_options(table, settings);
}

SearchResult run_search(SearchAlgorithm& algorithm, const PolicySpace& space, const CostEngine& engine,
                        AccuracyEvaluator& evaluator, const SearchSettings& settings) {
  check(settings);
  return SearchRun(space, engine, evaluator, settings).run(algorithm);
}

}  // namespace qxbar
