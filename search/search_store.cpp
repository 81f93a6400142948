#include "search/search_store.h"

#include <charconv>

#include "sim/core/errors.h"

namespace qxbar {
namespace {

const char* kind_name(EvaluatedPolicy::Kind kind) { return kind == EvaluatedPolicy::Kind::Baseline ? "baseline" : "search"; }

// Shortest text that reads back to the same double, so the CSV shows exactly what the store holds.
std::string exact(double value) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);
  return std::string(text, result.ptr);
}

}  // namespace

SearchStore::SearchStore(const std::string& path) : db_(path, 10000) {
  db_.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  db_.execute(
      "CREATE TABLE IF NOT EXISTS evaluations (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, episode INTEGER NOT NULL,"
      " label TEXT NOT NULL, policy TEXT NOT NULL, status TEXT NOT NULL, reward REAL NOT NULL, accuracy REAL NOT NULL,"
      " latency_ns REAL NOT NULL, energy_pj REAL NOT NULL, cost_ratio REAL NOT NULL, train_seconds REAL NOT NULL,"
      " price_seconds REAL NOT NULL)");
  std::string layer_table =
      "CREATE TABLE IF NOT EXISTS layer_costs (evaluation INTEGER NOT NULL REFERENCES evaluations(id),"
      " layer INTEGER NOT NULL, latency_ns REAL NOT NULL, write_ns REAL NOT NULL";
  for (const Component component : kComponents) layer_table += ", " + energy_column(component) + " REAL NOT NULL";
  db_.execute(layer_table + ", PRIMARY KEY (evaluation, layer))");
}

std::optional<std::string> SearchStore::run_key() const {
  SqliteStatement select = db_.prepare("SELECT value FROM meta WHERE key = 'run_key'");
  if (!select.next_row()) return std::nullopt;
  return select.text(0);
}

void SearchStore::set_run_key(const std::string& key) {
  db_.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('run_key', ?)").bind(1, key).run();
}

std::vector<EvaluatedPolicy> SearchStore::load() const {
  SqliteStatement select = db_.prepare(
      "SELECT kind, episode, label, policy, status, reward, accuracy, latency_ns, energy_pj, cost_ratio,"
      " train_seconds, price_seconds, id FROM evaluations ORDER BY id");
  std::string layer_columns = "latency_ns, write_ns";
  for (const Component component : kComponents) layer_columns += ", " + energy_column(component);
  SqliteStatement layers =
      db_.prepare("SELECT " + layer_columns + " FROM layer_costs WHERE evaluation = ? ORDER BY layer");
  std::vector<EvaluatedPolicy> rows;
  while (select.next_row()) {
    EvaluatedPolicy row;
    row.kind = select.text(0) == "baseline" ? EvaluatedPolicy::Kind::Baseline : EvaluatedPolicy::Kind::Search;
    row.episode = static_cast<int>(select.integer(1));
    row.label = select.text(2);
    row.policy = parse_policy_summary(select.text(3), db_.path());
    row.evaluation.status = parse_evaluation_status(select.text(4));
    row.evaluation.reward = select.real(5);
    row.evaluation.accuracy = select.real(6);
    row.evaluation.latency_ns = select.real(7);
    row.evaluation.energy_pj = select.real(8);
    row.evaluation.cost_ratio = select.real(9);
    row.train_seconds = select.real(10);
    row.price_seconds = select.real(11);
    layers.reset();
    layers.bind(1, select.integer(12));
    while (layers.next_row()) {
      LayerCost& layer = row.layer_costs.emplace_back();
      layer.latency_ns = layers.real(0);
      layer.write_ns = layers.real(1);
      for (std::size_t c = 0; c < kComponents.size(); ++c) layer.energy_pj[kComponents[c]] = layers.real(static_cast<int>(c) + 2);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

void SearchStore::append(const EvaluatedPolicy& row) {
  db_.transaction([&] {
    db_.prepare(
           "INSERT INTO evaluations (kind, episode, label, policy, status, reward, accuracy, latency_ns,"
           " energy_pj, cost_ratio, train_seconds, price_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(1, kind_name(row.kind))
        .bind(2, row.episode)
        .bind(3, row.label)
        .bind(4, policy_summary(row.policy))
        .bind(5, to_string(row.evaluation.status))
        .bind(6, row.evaluation.reward)
        .bind(7, row.evaluation.accuracy)
        .bind(8, row.evaluation.latency_ns)
        .bind(9, row.evaluation.energy_pj)
        .bind(10, row.evaluation.cost_ratio)
        .bind(11, row.train_seconds)
        .bind(12, row.price_seconds)
        .run();
    std::string columns = "evaluation, layer, latency_ns, write_ns";
    std::string values = "(SELECT MAX(id) FROM evaluations), ?, ?, ?";
    for (const Component component : kComponents) {
      columns += ", " + energy_column(component);
      values += ", ?";
    }
    SqliteStatement insert = db_.prepare("INSERT INTO layer_costs (" + columns + ") VALUES (" + values + ")");
    for (std::size_t i = 0; i < row.layer_costs.size(); ++i) {
      const LayerCost& layer = row.layer_costs[i];
      insert.reset();
      insert.bind(1, static_cast<std::int64_t>(i)).bind(2, layer.latency_ns).bind(3, layer.write_ns);
      for (std::size_t c = 0; c < kComponents.size(); ++c) {
        insert.bind(static_cast<int>(c) + 4, layer.energy_pj[kComponents[c]]);
      }
      insert.run();
    }
  });
}

std::size_t best_searched(const std::vector<EvaluatedPolicy>& rows) {
  std::size_t best = rows.size();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].kind != EvaluatedPolicy::Kind::Search) continue;
    if (best == rows.size() || rows[i].evaluation.reward > rows[best].evaluation.reward) best = i;
  }
  return best;
}

std::string history_csv(const std::vector<EvaluatedPolicy>& rows) {
  std::string csv = "episode,kind,label,status,reward,accuracy,latency_ns,energy_pj,cost_ratio,policy\n";
  for (const EvaluatedPolicy& row : rows) {
    const Evaluation& e = row.evaluation;
    csv += (row.kind == EvaluatedPolicy::Kind::Search ? std::to_string(row.episode) : "") + "," + kind_name(row.kind) + "," +
           row.label + "," + to_string(e.status) + "," + exact(e.reward) + "," + exact(e.accuracy) + "," +
           exact(e.latency_ns) + "," + exact(e.energy_pj) + "," + exact(e.cost_ratio) + "," + policy_summary(row.policy) +
           "\n";
  }
  return csv;
}

}  // namespace qxbar
