#include "experiments/sweep_run.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <tuple>

#include "nn/builtin_workloads.h"
#include "nn/trainer.h"
#include "sim/core/progress.h"
#include "sim/cost_cache.h"
#include "sim/cost_engine.h"
#include "sim/energy.h"
#include "sim/engines.h"

namespace qxbar {
namespace {

// The sweep checkpoint's test accuracy as each chip computes it, evaluated once per chip and policy. A
// policy is applied as `qxbar eval --policy` applies it, so both commands give one accuracy: layers whose
// bits it changes fit their quantizers again in an ideal evaluation before the chip's.
class CheckpointTester {
 public:
  explicit CheckpointTester(const SweepAccuracy& settings)
      : settings_(settings),
        workload_(settings.checkpoint.load([](const std::string& path) { return load_checkpoint(path).workload(); })),
        data_(settings.checkpoint.load([](const std::string& path) {
          DataOptions data;
          data.name = read_checkpoint_info(path).dataset;
          return load_data(data);
        })) {
    data_.test = data_.test.first(settings.test.test_images);
  }

  // A network is the checkpoint's when the chip executes the same matrices for both, in the same order.
  bool tests(const Workload& network) const {
    const auto same = [](const LayerShape& a, const LayerShape& b) {
      return std::tie(a.kind, a.input_dim, a.output_dim, a.mvm_invocations, a.repeat_factor) ==
             std::tie(b.kind, b.input_dim, b.output_dim, b.mvm_invocations, b.repeat_factor);
    };
    return std::equal(network.layers.begin(), network.layers.end(), workload_.layers.begin(), workload_.layers.end(), same);
  }

  AccuracyKey key(const std::string& chip, const Policy& policy) const { return {settings_.content, chip, policy_summary(policy)}; }

  void remember(const Accuracies& accuracies) { known_.insert(accuracies.begin(), accuracies.end()); }

  MeasuredAccuracy of(const std::shared_ptr<const ChipSpec>& chip, const Policy& policy) {
    const AccuracyKey evaluated = key(chip->fingerprint, policy);
    if (const auto known = known_.find(evaluated); known != known_.end()) return known->second;
    auto model = models_.find(evaluated.policy);
    if (model == models_.end()) {
      model = models_.emplace(evaluated.policy, load_checkpoint(settings_.checkpoint.name)).first;
      model->second.set_policy(policy);
      evaluate(model->second, data_.test, settings_.test.batch_size);
    }
    Model deployed = fold_batch_norm(model->second);
    const ChipAccuracy measured = evaluate_on_chip(deployed, chip, data_, settings_.test);
    return known_[evaluated] = {measured.mean, measured.std};
  }

 private:
  const SweepAccuracy& settings_;
  Workload workload_;
  DataSplits data_;
  std::map<std::string, Model> models_;  // by policy, each applied and fitted once
  Accuracies known_;
};

// What every point shares, loaded and checked once: a mistake in the base chip, a network or a policy
// is the sweep's, not a point's.
class PointPricer {
 public:
  PointPricer(const SweepPlan& plan, const std::string& cost_cache)
      : plan_(plan), base_chip_(plan.base_chip.load(load_chip_description)) {
    base_chip_.resolve();
    for (const SweepEntry& network : plan.networks) {
      const Workload& workload = workloads_.emplace(network.name, network.load(resolve_workload)).first->second;
      for (const SweepEntry& policy : plan.policies) {
        policies_[{network.name, policy.name}] = policy.load([&](const std::string& entry) {
          return entry.find(',') != std::string::npos ? uniform_policy(workload, parse_bits(entry, entry)) : load_policy(entry, workload);
        });
      }
    }
    if (!cost_cache.empty()) cache_ = std::make_shared<CostCache>(cost_cache);
    if (plan.accuracy) {
      accuracy_.emplace(*plan.accuracy);
      for (const auto& [network, workload] : workloads_) {
        if (accuracy_->tests(workload)) tested_networks_.insert(network);
      }
      if (tested_networks_.empty()) {
        throw ConfigError(located_message(plan.accuracy->checkpoint.where, plan.accuracy->checkpoint.key,
                                          "its network has the layers of none of the sweep's networks"));
      }
    }
  }

  SweepRow price(const SweepPoint& point) {
    SweepRow row;
    row.index = point.index;
    row.values = point.values;
    row.network = point.network;
    row.policy = point.policy;
    try {
      const auto chip = std::make_shared<const ChipSpec>(grid_chip(base_chip_, plan_.axes, point.values));
      const Policy& policy = policies_.at({point.network, point.policy});
      const NetworkCost cost = price_network(*make_cost_engine(plan_.engine, *chip, cache_), workloads_.at(point.network), policy);
      if (tested_networks_.count(point.network) != 0) {
        const MeasuredAccuracy measured = accuracy_->of(chip, policy);
        row.accuracy = measured.mean;
        row.accuracy_std = measured.std;
      }
      row.status = SweepRow::kOk;
      row.latency_ns = cost.latency_ns;
      row.energy_pj = cost.energy_pj.total();
      row.area_mm2 = area_of(*chip).total() / 1e6;
      row.energy_by_component_pj = cost.energy_pj;
      row.chip = chip->fingerprint;
    } catch (const ConfigError& error) {
      // An impossible combination is a result of the sweep, not the end of it.
      row.status = error.what();
    }
    return row;
  }

  void flush() const {
    if (cache_) cache_->flush();
  }

  void remember(const Accuracies& accuracies) {
    if (accuracy_) accuracy_->remember(accuracies);
  }

  // What a row's accuracy was evaluated from, on whichever rank priced it.
  std::optional<AccuracyKey> evaluated_from(const SweepRow& row) const {
    if (!row.accuracy) return std::nullopt;
    return accuracy_->key(row.chip, policies_.at({row.network, row.policy}));
  }

 private:
  const SweepPlan& plan_;
  ChipDescription base_chip_;  // parsed once; each point applies its values to a copy
  std::map<std::string, Workload> workloads_;
  std::map<std::pair<std::string, std::string>, Policy> policies_;
  std::shared_ptr<CostCache> cache_;
  std::optional<CheckpointTester> accuracy_;
  std::set<std::string> tested_networks_;  // the networks whose points store the checkpoint's accuracy
};

}  // namespace

SweepOutcome run_sweep(const std::string& sweep_file, const SweepOptions& options, SweepTeam& team) {
  const bool root = team.rank() == 0;
  // Every rank reads the sweep and checks what every point shares; rank 0 also opens the database. All
  // ranks stop on the first error, which only the rank that found it reports.
  std::optional<SweepPlan> plan;
  std::optional<PointPricer> pricer;
  std::optional<SweepStore> store;
  std::vector<std::size_t> stored;
  check_together(team, [&] {
    if (options.shards == 0 || options.shard >= options.shards) {
      throw ConfigError("--shard " + std::to_string(options.shard) + "/" + std::to_string(options.shards) +
                        ": expected K/N with 0 <= K < N");
    }
    if (options.shards > 1 && team.size() > 1) {
      throw ConfigError("--shard splits a sweep between separate processes; the ranks of one MPI job share it already");
    }
    plan.emplace(load_sweep(sweep_file));
    pricer.emplace(*plan, options.cost_cache);
    if (root) {
      store.emplace(options.database, plan->keys(), plan->fingerprint);
      stored = store->stored_ids();
      if (!stored.empty() && !options.resume) {
        throw ConfigError(options.database + ": holds points of this sweep already; pass --resume to add the missing ones");
      }
    }
  });
  stored = team.share(stored);
  const Accuracies accuracies = decode_accuracies(team.share(root ? encode_accuracies(store->accuracies()) : std::string()));
  pricer->remember(accuracies);
  team.start_pricing();

  const std::vector<SweepPoint> points = expand(*plan);
  const std::set<std::size_t> stored_set(stored.begin(), stored.end());
  std::vector<std::size_t> to_price;  // by the whole team
  for (const std::size_t index : deal(points.size(), options.shard, options.shards)) {
    if (stored_set.count(index) == 0) to_price.push_back(index);
  }
  const std::vector<std::size_t> slice = deal(to_price.size(), team.rank(), team.size());

  SweepOutcome outcome;
  outcome.points = points.size();
  outcome.skipped = stored.size();
  Progress progress("sweep", static_cast<std::int64_t>(to_price.size()), "points");
  const auto start = std::chrono::steady_clock::now();
  auto record = [&](const SweepRow& row) {
    store->insert(row, pricer->evaluated_from(row));
    ++(row.ok() ? outcome.priced : outcome.invalid);
    if (options.show_progress) progress.update(static_cast<std::int64_t>(outcome.priced + outcome.invalid));
  };
  std::vector<std::size_t> mine;
  for (const std::size_t position : slice) mine.push_back(to_price[position]);
  collect_rows(team, mine, [&](std::size_t index) { return std::vector<SweepRow>{pricer->price(points[index])}; }, record);
  if (root) {
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (plan->accuracy) outcome.evaluated = store->accuracies().size() - accuracies.size();
  }
  pricer->flush();
  if (root && options.show_progress) progress.finish();
  return outcome;
}

std::size_t merge_sweeps(const SweepPlan& plan, const std::string& database, const std::vector<std::string>& sources) {
  // Every source is checked before the target is opened, so a bad one leaves no new database behind.
  for (const std::string& source : sources) check_sweep_of_plan(source, plan.fingerprint);
  SweepStore store(database, plan.keys(), plan.fingerprint);
  std::size_t added = 0;
  for (const std::string& source : sources) added += store.merge_from(source);
  return added;
}

}  // namespace qxbar
