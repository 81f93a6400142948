#include "experiments/sweep.h"

#include <sqlite3.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <memory>

#include "nn/builtin_workloads.h"
#include "sim/chip_schema.h"
#include "sim/cost_cache.h"
#include "sim/cost_engine.h"
#include "sim/energy.h"
#include "sim/fingerprint.h"
#include "sim/progress.h"
#include "sim/yaml_reading.h"

namespace qxbar {
namespace {

struct StatementDeleter {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

std::string quoted_identifier(const std::string& name) { return "\"" + name + "\""; }

std::vector<std::string> text_list(const YAML::Node& node, const std::string& file, const std::string& key) {
  if (!node.IsSequence() || node.size() == 0) {
    throw ConfigError(located_message(location_of(node, file), key, "expected a non-empty list"));
  }
  std::vector<std::string> values;
  for (const YAML::Node& item : node) values.push_back(scalar_text(item, location_of(item, file), key));
  return values;
}

// A policy entry names a file relative to the sweep file, or a uniform "W,A".
std::string resolve_policy(const std::string& entry, const std::filesystem::path& folder) {
  if (entry.find(',') != std::string::npos) return entry;
  const std::filesystem::path beside = folder / entry;
  return std::filesystem::exists(beside) ? beside.string() : entry;
}

class Database {
 public:
  Database(const std::string& path) : path_(path) {
    const std::filesystem::path file(path);
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
      const std::string reason = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw DataError(path + ": cannot open sweep database: " + reason);
    }
    sqlite3_busy_timeout(db_, 60000);
  }
  ~Database() { sqlite3_close(db_); }
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  void execute(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      const std::string reason = message ? message : "unknown error";
      sqlite3_free(message);
      throw DataError(path_ + ": " + reason);
    }
  }
  Statement prepare(const std::string& sql) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) throw DataError(path_ + ": " + sqlite3_errmsg(db_));
    return Statement(raw);
  }
  void step_done(sqlite3_stmt* statement) {
    if (sqlite3_step(statement) != SQLITE_DONE) throw DataError(path_ + ": " + sqlite3_errmsg(db_));
  }

 private:
  std::string path_;
  sqlite3* db_ = nullptr;
};

// Numbers go in as numbers, so the table can be queried and plotted by value.
void bind_value(sqlite3_stmt* statement, int column, const std::string& text) {
  long long integer = 0;
  const auto [integer_end, integer_error] = std::from_chars(text.data(), text.data() + text.size(), integer);
  if (integer_error == std::errc() && integer_end == text.data() + text.size()) {
    sqlite3_bind_int64(statement, column, integer);
    return;
  }
  double number = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (error == std::errc() && end == text.data() + text.size()) {
    sqlite3_bind_double(statement, column, number);
  } else {
    sqlite3_bind_text(statement, column, text.c_str(), -1, SQLITE_TRANSIENT);
  }
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
  plan.networks = text_list(map.take("networks"), path, "networks");
  for (const std::string& policy : text_list(map.take("policies"), path, "policies")) {
    plan.policies.push_back(resolve_policy(policy, folder));
  }
  if (const YAML::Node engine = map.take_optional("engine")) {
    plan.engine = scalar_text(engine, location_of(engine, path), "engine");
    const std::vector<std::string> engines = cost_engine_names();
    if (std::find(engines.begin(), engines.end(), plan.engine) == engines.end()) {
      throw ConfigError(located_message(location_of(engine, path), "engine", "unknown engine '" + plan.engine + "' (choose analytical or systemc)"));
    }
  }
  map.reject_unknown_keys();
  std::string identity = plan.base_chip + "|" + plan.engine;
  for (const SweepAxis& axis : plan.axes) {
    identity += "|" + axis.key;
    for (const std::string& value : axis.values) identity += "," + value;
  }
  for (const std::string& network : plan.networks) identity += "|n:" + network;
  for (const std::string& policy : plan.policies) identity += "|p:" + policy;
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

SweepOutcome run_sweep(const SweepPlan& plan, const SweepOptions& options) {
  if (options.shards == 0 || options.shard >= options.shards) throw ConfigError("shard " + std::to_string(options.shard) + " of " + std::to_string(options.shards));
  Database db(options.database);
  std::string columns;
  for (const SweepAxis& axis : plan.axes) columns += quoted_identifier(axis.key) + ", ";
  std::string energy_columns;
  for (const Component component : kComponents) energy_columns += std::string(", energy_") + to_string(component) + "_pj REAL";
  db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  db.execute("CREATE TABLE IF NOT EXISTS points (id INTEGER PRIMARY KEY, " + columns +
             "network TEXT NOT NULL, policy TEXT NOT NULL, status TEXT NOT NULL, latency_ns REAL, energy_pj REAL, area_mm2 REAL" +
             energy_columns + ", chip TEXT)");
  db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('plan', '" + plan.fingerprint + "')");
  {
    Statement read = db.prepare("SELECT value FROM meta WHERE key = 'plan'");
    sqlite3_step(read.get());
    const std::string stored = reinterpret_cast<const char*>(sqlite3_column_text(read.get(), 0));
    if (stored != plan.fingerprint) throw ConfigError(options.database + ": holds the points of another sweep; choose another --db");
  }
  std::map<std::size_t, bool> stored;
  {
    Statement ids = db.prepare("SELECT id FROM points");
    while (sqlite3_step(ids.get()) == SQLITE_ROW) stored[static_cast<std::size_t>(sqlite3_column_int64(ids.get(), 0))] = true;
  }
  if (!stored.empty() && !options.resume && options.shards == 1) {
    throw ConfigError(options.database + ": holds points of this sweep already; pass --resume to add the missing ones");
  }

  std::string placeholders;
  for (std::size_t i = 0; i < plan.axes.size() + 7 + kComponents.size(); ++i) placeholders += i == 0 ? "?" : ", ?";
  std::string energy_names;
  for (const Component component : kComponents) energy_names += std::string(", energy_") + to_string(component) + "_pj";
  Statement insert = db.prepare("INSERT OR IGNORE INTO points (id, " + columns +
                                "network, policy, status, latency_ns, energy_pj, area_mm2" + energy_names + ", chip) VALUES (" +
                                placeholders + ", ?)");

  // The base chip, networks and policies are the same for every point: a mistake in them is the sweep's.
  load_chip(plan.base_chip);
  std::map<std::string, Workload> workloads;
  std::map<std::pair<std::string, std::string>, Policy> policies;
  for (const std::string& network : plan.networks) {
    const Workload& workload = workloads.emplace(network, resolve_workload(network)).first->second;
    for (const std::string& entry : plan.policies) {
      policies[{network, entry}] = entry.find(',') != std::string::npos
                                       ? uniform_policy(workload, parse_bits(entry, "policies: " + entry))
                                       : load_policy(entry, workload);
    }
  }
  const std::vector<SweepPoint> points = expand(plan);
  SweepOutcome outcome;
  outcome.points = points.size();
  const auto cache = std::make_shared<CostCache>(CostCache::default_path());
  Progress progress("sweep", static_cast<std::int64_t>(points.size()), "points");
  for (const SweepPoint& point : points) {
    if (point.index % options.shards != options.shard) continue;
    if (stored.count(point.index) != 0) {
      ++outcome.skipped;
      continue;
    }
    sqlite3_stmt* row = insert.get();
    sqlite3_reset(row);
    sqlite3_clear_bindings(row);
    int column = 1;
    sqlite3_bind_int64(row, column++, static_cast<sqlite3_int64>(point.index));
    for (const std::string& value : point.values) bind_value(row, column++, value);
    sqlite3_bind_text(row, column++, point.network.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(row, column++, point.policy.c_str(), -1, SQLITE_TRANSIENT);
    try {
      std::vector<std::string> overrides;
      for (std::size_t axis = 0; axis < plan.axes.size(); ++axis) overrides.push_back(plan.axes[axis].key + "=" + point.values[axis]);
      const ChipSpec chip = load_chip(plan.base_chip, overrides);
      const Workload& workload = workloads.at(point.network);
      const NetworkCost cost =
          price_network(*make_cost_engine(plan.engine, chip, cache), workload, policies.at({point.network, point.policy}));
      sqlite3_bind_text(row, column++, "ok", -1, SQLITE_STATIC);
      sqlite3_bind_double(row, column++, cost.latency_ns);
      sqlite3_bind_double(row, column++, cost.energy_pj.total());
      sqlite3_bind_double(row, column++, area_of(chip).total() / 1e6);
      for (const Component component : kComponents) sqlite3_bind_double(row, column++, cost.energy_pj[component]);
      sqlite3_bind_text(row, column++, chip.fingerprint.c_str(), -1, SQLITE_TRANSIENT);
      ++outcome.priced;
    } catch (const UserError& error) {
      // An impossible combination is a result of the sweep, not the end of it.
      sqlite3_bind_text(row, column++, error.what(), -1, SQLITE_TRANSIENT);
      ++outcome.invalid;
    }
    db.step_done(row);
    if (options.show_progress) progress.update(static_cast<std::int64_t>(point.index + 1));
  }
  cache->flush();
  if (options.show_progress) progress.finish();
  return outcome;
}

std::string sweep_csv(const std::string& database) {
  if (!std::filesystem::exists(database)) throw DataError(database + ": no such sweep database");
  Database db(database);
  Statement select = db.prepare("SELECT * FROM points ORDER BY id");
  const int columns = sqlite3_column_count(select.get());
  std::string csv;
  for (int column = 0; column < columns; ++column) csv += std::string(column == 0 ? "" : ",") + sqlite3_column_name(select.get(), column);
  csv += "\n";
  while (sqlite3_step(select.get()) == SQLITE_ROW) {
    for (int column = 0; column < columns; ++column) {
      const unsigned char* text = sqlite3_column_text(select.get(), column);
      std::string field = text == nullptr ? "" : reinterpret_cast<const char*>(text);
      if (field.find_first_of(",\"\n") != std::string::npos) {
        std::string escaped = "\"";
        for (const char c : field) escaped += c == '"' ? std::string("\"\"") : std::string(1, c);
        field = escaped + "\"";
      }
      csv += (column == 0 ? "" : ",") + field;
    }
    csv += "\n";
  }
  return csv;
}

}  // namespace qxbar
