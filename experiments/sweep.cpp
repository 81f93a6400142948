#include "experiments/sweep.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>

#include "nn/builtin_workloads.h"
#include "sim/chip_schema.h"
#include "sim/core/fingerprint.h"
#include "sim/core/progress.h"
#include "sim/core/yaml_reading.h"
#include "sim/cost_cache.h"
#include "sim/cost_engine.h"
#include "sim/energy.h"
#include "sim/engines.h"

namespace qxbar {
namespace {

std::vector<std::string> text_list(const YAML::Node& node, const std::string& file, const std::string& key) {
  if (!node.IsSequence() || node.size() == 0) {
    throw ConfigError(located_message(location_of(node, file), key, "expected a non-empty list"));
  }
  std::vector<std::string> values;
  for (const YAML::Node& item : node) values.push_back(scalar_text(item, location_of(item, file), key));
  return values;
}

// A file a sweep names is looked for beside the sweep file first, so the sweep means the same from any
// working directory.
std::string resolve_beside(const std::string& entry, const std::filesystem::path& folder) {
  const std::filesystem::path beside = folder / entry;
  return std::filesystem::exists(beside) ? beside.string() : entry;
}

// A file entry stands for its contents: editing a policy file makes a new plan, not a mix of two.
std::string identity_of(const std::string& entry) {
  if (!std::filesystem::is_regular_file(entry)) return entry;
  std::ifstream file(entry, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  return "file:" + fingerprint_hex(contents.str());
}

// What every point shares, loaded and checked once: a mistake in the base chip, a network or a policy
// is the sweep's, not a point's.
class PointPricer {
 public:
  PointPricer(const SweepPlan& plan, const std::string& cost_cache)
      : plan_(plan), base_chip_(load_chip_description(plan.base_chip)) {
    base_chip_.resolve();
    for (const std::string& network : plan.networks) {
      const Workload& workload = workloads_.emplace(network, resolve_workload(network)).first->second;
      for (const std::string& entry : plan.policies) {
        policies_[{network, entry}] = entry.find(',') != std::string::npos
                                          ? uniform_policy(workload, parse_bits(entry, "policies: " + entry))
                                          : load_policy(entry, workload);
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

std::vector<std::string> axis_keys(const SweepPlan& plan) {
  std::vector<std::string> keys;
  for (const SweepAxis& axis : plan.axes) keys.push_back(axis.key);
  return keys;
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

SweepPlan load_sweep(const std::string& path) {
  const YAML::Node root = load_yaml_file(path);
  StrictMap map(root, path, "");
  SweepPlan plan;
  if (const YAML::Node chip = map.take_optional("chip")) plan.base_chip = scalar_text(chip, location_of(chip, path), "chip");
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (std::filesystem::path(plan.base_chip).has_extension() && std::filesystem::exists(folder / plan.base_chip)) {
    plan.base_chip = (folder / plan.base_chip).string();
  }
  const YAML::Node grid = map.take("grid");
  if (!grid.IsMap() || grid.size() == 0) throw ConfigError(located_message(location_of(grid, path), "grid", "expected chip keys with lists of values"));
  for (const auto& entry : grid) {
    const std::string key = entry.first.Scalar();
    if (find_chip_key(key) == nullptr) {
      const std::string hint = closest_chip_key(key);
      throw ConfigError(located_message(location_of(entry.first, path), "grid." + key,
                                        "not a chip key" + (hint.empty() ? std::string() : " (did you mean " + hint + "?)")));
    }
    plan.axes.push_back({key, text_list(entry.second, path, "grid." + key)});
  }
  for (const std::string& network : text_list(map.take("networks"), path, "networks")) {
    plan.networks.push_back(resolve_beside(network, folder));
  }
  for (const std::string& policy : text_list(map.take("policies"), path, "policies")) {
    plan.policies.push_back(policy.find(',') != std::string::npos ? policy : resolve_beside(policy, folder));
  }
  if (const YAML::Node engine = map.take_optional("engine")) {
    plan.engine = scalar_text(engine, location_of(engine, path), "engine");
    const std::vector<std::string> engines = cost_engine_names();
    if (std::find(engines.begin(), engines.end(), plan.engine) == engines.end()) {
      throw ConfigError(located_message(location_of(engine, path), "engine", "unknown engine '" + plan.engine + "' (choose analytical or systemc)"));
    }
  }
  map.reject_unknown_keys();
  // The table's layout, and the base chip by its resolved values (a preset is a file too).
  std::string identity = sweep_table_layout() + "|" + load_chip(plan.base_chip).fingerprint + "|" + plan.engine;
  for (const SweepAxis& axis : plan.axes) {
    identity += "|" + axis.key;
    for (const std::string& value : axis.values) identity += "," + value;
  }
  for (const std::string& network : plan.networks) identity += "|n:" + identity_of(network);
  for (const std::string& policy : plan.policies) identity += "|p:" + identity_of(policy);
  plan.fingerprint = fingerprint_hex(identity);
  return plan;
}

std::vector<SweepPoint> expand(const SweepPlan& plan) {
  std::vector<SweepPoint> points;
  std::vector<std::size_t> digits(plan.axes.size(), 0);
  for (;;) {
    std::vector<std::string> values;
    for (std::size_t axis = 0; axis < plan.axes.size(); ++axis) values.push_back(plan.axes[axis].values[digits[axis]]);
    for (const std::string& network : plan.networks) {
      for (const std::string& policy : plan.policies) points.push_back({points.size(), values, network, policy});
    }
    std::size_t axis = plan.axes.size();
    while (axis > 0 && ++digits[axis - 1] == plan.axes[axis - 1].values.size()) digits[--axis] = 0;
    if (axis == 0) return points;
  }
}

std::vector<std::size_t> deal(std::size_t points, std::size_t shard, std::size_t shards) {
  std::vector<std::size_t> order(points);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [](std::size_t a, std::size_t b) { return splitmix64(a) < splitmix64(b); });
  std::vector<std::size_t> mine;
  for (std::size_t position = shard; position < points; position += shards) mine.push_back(order[position]);
  std::sort(mine.begin(), mine.end());
  return mine;
}

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
      store.emplace(options.database, axis_keys(*plan), plan->fingerprint);
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
  SweepStore store(database, axis_keys(plan), plan.fingerprint);
  std::size_t added = 0;
  for (const std::string& source : sources) added += store.merge_from(source);
  return added;
}

}  // namespace qxbar
