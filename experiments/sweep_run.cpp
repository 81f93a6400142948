#include "experiments/sweep_run.h"

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "nn/builtin_workloads.h"
#include "sim/core/progress.h"
#include "sim/cost_cache.h"
#include "sim/cost_engine.h"
#include "sim/energy.h"
#include "sim/engines.h"

namespace qxbar {
namespace {

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
  }

  SweepRow price(const SweepPoint& point) const {
    SweepRow row;
    row.index = point.index;
    row.values = point.values;
    row.network = point.network;
    row.policy = point.policy;
    try {
      ChipDescription description = base_chip_;
      for (std::size_t axis = 0; axis < plan_.axes.size(); ++axis) description.apply_override(plan_.axes[axis].key + "=" + point.values[axis]);
      const ChipSpec chip = description.resolve();
      const NetworkCost cost = price_network(*make_cost_engine(plan_.engine, chip, cache_), workloads_.at(point.network),
                                             policies_.at({point.network, point.policy}));
      row.status = SweepRow::kOk;
      row.latency_ns = cost.latency_ns;
      row.energy_pj = cost.energy_pj.total();
      row.area_mm2 = area_of(chip).total() / 1e6;
      row.energy_by_component_pj = cost.energy_pj;
      row.chip = chip.fingerprint;
    } catch (const ConfigError& error) {
      // An impossible combination is a result of the sweep, not the end of it.
      row.status = error.what();
    }
    return row;
  }

  void flush() const {
    if (cache_) cache_->flush();
  }

 private:
  const SweepPlan& plan_;
  ChipDescription base_chip_;  // parsed once; each point applies its values to a copy
  std::map<std::string, Workload> workloads_;
  std::map<std::pair<std::string, std::string>, Policy> policies_;
  std::shared_ptr<CostCache> cache_;
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
  std::exception_ptr failure;
  std::string error;
  try {
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
  } catch (const UserError& caught) {
    failure = std::current_exception();
    error = caught.what();
  }
  std::string message;
  const std::size_t failed = team.first_failure(error, message);
  if (failed == team.rank()) std::rethrow_exception(failure);
  if (failed < team.size()) throw SweepStopped(message);
  stored = team.share(stored);
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
    store->insert(row);
    ++(row.ok() ? outcome.priced : outcome.invalid);
    if (options.show_progress) progress.update(static_cast<std::int64_t>(outcome.priced + outcome.invalid));
  };
  for (const std::size_t position : slice) {
    const SweepRow row = pricer->price(points[to_price[position]]);
    if (!root) {
      team.send(row);
      continue;
    }
    record(row);
    while (const std::optional<SweepRow> received = team.receive()) record(*received);
  }
  if (root) {
    for (;;) {
      if (const std::optional<SweepRow> received = team.receive()) {
        record(*received);
      } else if (team.others_done()) {
        break;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } else {
    team.send_done();
  }
  pricer->flush();
  if (root && options.show_progress) progress.finish();
  return outcome;
}

std::size_t merge_sweeps(const SweepPlan& plan, const std::string& database, const std::vector<std::string>& sources) {
  SweepStore store(database, plan.keys(), plan.fingerprint);
  std::size_t added = 0;
  for (const std::string& source : sources) added += store.merge_from(source);
  return added;
}

}  // namespace qxbar
