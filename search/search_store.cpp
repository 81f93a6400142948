#include "search/search_store.h"

#include <sqlite3.h>

#include <charconv>
#include <filesystem>
#include <memory>

#include "sim/errors.h"

namespace qxbar {
namespace {

struct StatementDeleter {
  void operator()(sqlite3_stmt* statement) const { sqlite3_finalize(statement); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

const char* kind_name(EvaluatedPolicy::Kind kind) { return kind == EvaluatedPolicy::Kind::Baseline ? "baseline" : "search"; }

// Shortest text that reads back to the same double, so the CSV shows exactly what the store holds.
std::string exact(double value) {
  char text[32];
  const auto result = std::to_chars(text, text + sizeof text, value);
  return std::string(text, result.ptr);
}

std::string column_text(sqlite3_stmt* statement, int column) {
  const unsigned char* text = sqlite3_column_text(statement, column);
  return text == nullptr ? "" : reinterpret_cast<const char*>(text);
}

}  // namespace

SearchStore::SearchStore(const std::string& path) : path_(path) {
  const std::filesystem::path file(path);
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    const std::string reason = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw DataError(path + ": cannot open search store: " + reason);
  }
  sqlite3_busy_timeout(db_, 10000);
  try {
    execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    execute(
        "CREATE TABLE IF NOT EXISTS evaluations (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, episode INTEGER NOT NULL,"
        " label TEXT NOT NULL, policy TEXT NOT NULL, status TEXT NOT NULL, reward REAL NOT NULL, accuracy REAL NOT NULL,"
        " latency_ns REAL NOT NULL, energy_pj REAL NOT NULL, cost_ratio REAL NOT NULL, train_seconds REAL NOT NULL,"
        " price_seconds REAL NOT NULL)");
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

SearchStore::~SearchStore() { sqlite3_close(db_); }

void SearchStore::execute(const std::string& sql) const {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    const std::string reason = message ? message : "unknown error";
    sqlite3_free(message);
    throw DataError(path_ + ": " + reason);
  }
}

std::optional<std::string> SearchStore::run_key() const {
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db_, "SELECT value FROM meta WHERE key = 'run_key'", -1, &raw, nullptr);
  const Statement statement(raw);
  if (sqlite3_step(raw) != SQLITE_ROW) return std::nullopt;
  return column_text(raw, 0);
}

void SearchStore::set_run_key(const std::string& key) {
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO meta (key, value) VALUES ('run_key', ?)", -1, &raw, nullptr);
  const Statement statement(raw);
  sqlite3_bind_text(raw, 1, key.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(raw) != SQLITE_DONE) throw DataError(path_ + ": " + sqlite3_errmsg(db_));
}

std::vector<EvaluatedPolicy> SearchStore::load() const {
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db_,
                     "SELECT kind, episode, label, policy, status, reward, accuracy, latency_ns, energy_pj, cost_ratio,"
                     " train_seconds, price_seconds FROM evaluations ORDER BY id",
                     -1, &raw, nullptr);
  const Statement statement(raw);
  std::vector<EvaluatedPolicy> rows;
  while (sqlite3_step(raw) == SQLITE_ROW) {
    EvaluatedPolicy row;
    row.kind = column_text(raw, 0) == "baseline" ? EvaluatedPolicy::Kind::Baseline : EvaluatedPolicy::Kind::Search;
    row.episode = sqlite3_column_int(raw, 1);
    row.label = column_text(raw, 2);
    row.policy = parse_policy_summary(column_text(raw, 3), path_);
    row.evaluation.status = parse_evaluation_status(column_text(raw, 4));
    row.evaluation.reward = sqlite3_column_double(raw, 5);
    row.evaluation.accuracy = sqlite3_column_double(raw, 6);
    row.evaluation.latency_ns = sqlite3_column_double(raw, 7);
    row.evaluation.energy_pj = sqlite3_column_double(raw, 8);
    row.evaluation.cost_ratio = sqlite3_column_double(raw, 9);
    row.train_seconds = sqlite3_column_double(raw, 10);
    row.price_seconds = sqlite3_column_double(raw, 11);
    rows.push_back(std::move(row));
  }
  return rows;
}

void SearchStore::append(const EvaluatedPolicy& row) {
  sqlite3_stmt* raw = nullptr;
  sqlite3_prepare_v2(db_,
                     "INSERT INTO evaluations (kind, episode, label, policy, status, reward, accuracy, latency_ns,"
                     " energy_pj, cost_ratio, train_seconds, price_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     -1, &raw, nullptr);
  const Statement statement(raw);
  const std::string policy = policy_summary(row.policy);
  sqlite3_bind_text(raw, 1, kind_name(row.kind), -1, SQLITE_STATIC);
  sqlite3_bind_int(raw, 2, row.episode);
  sqlite3_bind_text(raw, 3, row.label.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 4, policy.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 5, to_string(row.evaluation.status), -1, SQLITE_STATIC);
  sqlite3_bind_double(raw, 6, row.evaluation.reward);
  sqlite3_bind_double(raw, 7, row.evaluation.accuracy);
  sqlite3_bind_double(raw, 8, row.evaluation.latency_ns);
  sqlite3_bind_double(raw, 9, row.evaluation.energy_pj);
  sqlite3_bind_double(raw, 10, row.evaluation.cost_ratio);
  sqlite3_bind_double(raw, 11, row.train_seconds);
  sqlite3_bind_double(raw, 12, row.price_seconds);
  if (sqlite3_step(raw) != SQLITE_DONE) throw DataError(path_ + ": " + sqlite3_errmsg(db_));
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
