#include "sim/cost_cache.h"

#include <sqlite3.h>

#include <cstdlib>
#include <filesystem>

namespace qxbar {
namespace {

constexpr int kBatchSize = 256;

// Counter columns follow counter_infos(), so a new counter changes the schema and the table name with it.
std::string table_name() { return "layer_costs_v" + std::to_string(counter_infos().size()); }

}  // namespace

CostCache::CostCache(const std::string& path) : path_(path) {
  const std::filesystem::path file(path);
  if (file.has_parent_path()) {
    std::error_code ignored;
    std::filesystem::create_directories(file.parent_path(), ignored);
  }
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    const std::string reason = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw DataError(path + ": cannot open cost cache: " + reason);
  }
  sqlite3_busy_timeout(db_, 10000);
  std::string columns;
  std::string placeholders;
  for (const CounterInfo& info : counter_infos()) {
    columns += std::string(", ") + info.name + " INTEGER NOT NULL";
    placeholders += ", ?";
  }
  const std::string table = table_name();
  try {
    execute("PRAGMA journal_mode=WAL");
    execute(("CREATE TABLE IF NOT EXISTS " + table +
             " (engine TEXT NOT NULL, chip TEXT NOT NULL, input_dim INTEGER NOT NULL, output_dim INTEGER NOT NULL,"
             " invocations INTEGER NOT NULL, repeat_factor INTEGER NOT NULL, w_bits INTEGER NOT NULL,"
             " a_bits INTEGER NOT NULL, latency_ns REAL NOT NULL, write_ns REAL NOT NULL" + columns +
             ", PRIMARY KEY (engine, chip, input_dim, output_dim, invocations, repeat_factor, w_bits, a_bits))")
                .c_str());
  } catch (const DataError&) {
    sqlite3_close(db_);
    throw;
  }
  const std::string key = " WHERE engine = ? AND chip = ? AND input_dim = ? AND output_dim = ? AND invocations = ?"
                          " AND repeat_factor = ? AND w_bits = ? AND a_bits = ?";
  std::string select_columns = "latency_ns, write_ns";
  for (const CounterInfo& info : counter_infos()) select_columns += std::string(", ") + info.name;
  const std::string select = "SELECT " + select_columns + " FROM " + table + key;
  const std::string insert = "INSERT OR IGNORE INTO " + table + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?" + placeholders + ")";
  if (sqlite3_prepare_v2(db_, select.c_str(), -1, &select_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v2(db_, insert.c_str(), -1, &insert_, nullptr) != SQLITE_OK) {
    const std::string reason = sqlite3_errmsg(db_);
    sqlite3_finalize(select_);
    sqlite3_close(db_);
    throw DataError(path + ": unusable cost cache: " + reason);
  }
}

CostCache::~CostCache() {
  try {
    flush();
  } catch (const DataError&) {
    // Losing unsaved cache entries only costs time later; a destructor must not throw.
  }
  sqlite3_finalize(select_);
  sqlite3_finalize(insert_);
  sqlite3_close(db_);
}

void CostCache::execute(const char* sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
    const std::string reason = error ? error : "unknown error";
    sqlite3_free(error);
    throw DataError(path_ + ": cost cache: " + reason);
  }
}

void CostCache::bind_key(sqlite3_stmt* statement, const CostEngine& engine, const LayerShape& layer, Bits bits) {
  const std::string identity = engine.identity();
  sqlite3_bind_text(statement, 1, identity.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(statement, 2, engine.chip().fingerprint.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(statement, 3, layer.input_dim);
  sqlite3_bind_int64(statement, 4, layer.output_dim);
  sqlite3_bind_int64(statement, 5, layer.mvm_invocations);
  sqlite3_bind_int64(statement, 6, layer.repeat_factor);
  sqlite3_bind_int(statement, 7, bits.w);
  sqlite3_bind_int(statement, 8, bits.a);
}

std::optional<CachedCost> CostCache::find(const CostEngine& engine, const LayerShape& layer, Bits bits) {
  sqlite3_reset(select_);
  bind_key(select_, engine, layer, bits);
  const int status = sqlite3_step(select_);
  if (status != SQLITE_ROW) {
    if (status != SQLITE_DONE) throw DataError(path_ + ": cost cache: " + sqlite3_errmsg(db_));
    ++misses_;
    return std::nullopt;
  }
  CachedCost cost;
  cost.latency_ns = sqlite3_column_double(select_, 0);
  cost.write_ns = sqlite3_column_double(select_, 1);
  int column = 2;
  for (const CounterInfo& info : counter_infos()) cost.counts.*info.field = sqlite3_column_int64(select_, column++);
  ++hits_;
  return cost;
}

void CostCache::store(const CostEngine& engine, const LayerShape& layer, Bits bits, const CachedCost& cost) {
  if (pending_ == 0) execute("BEGIN IMMEDIATE");
  sqlite3_reset(insert_);
  bind_key(insert_, engine, layer, bits);
  sqlite3_bind_double(insert_, 9, cost.latency_ns);
  sqlite3_bind_double(insert_, 10, cost.write_ns);
  int column = 11;
  for (const CounterInfo& info : counter_infos()) sqlite3_bind_int64(insert_, column++, cost.counts.*info.field);
  if (sqlite3_step(insert_) != SQLITE_DONE) throw DataError(path_ + ": cost cache: " + sqlite3_errmsg(db_));
  if (++pending_ >= kBatchSize) flush();
}

void CostCache::flush() {
  if (pending_ == 0) return;
  pending_ = 0;
  execute("COMMIT");
}

std::string CostCache::default_path() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/qxbar/costs.sqlite";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.cache/qxbar/costs.sqlite";
}

LayerCost CachedEngine::price(const LayerShape& layer, Bits bits) const {
  if (const std::optional<CachedCost> cached = cache_->find(*engine_, layer, bits)) {
    LayerCost cost;
    cost.mapping = map_layer(chip(), layer, bits);
    cost.latency_ns = cached->latency_ns;
    cost.write_ns = cached->write_ns;
    cost.counts = cached->counts;
    cost.energy_pj = energy_of(chip(), cost.counts, cost.latency_ns);
    return cost;
  }
  LayerCost cost = engine_->price(layer, bits);
  cache_->store(*engine_, layer, bits, {cost.latency_ns, cost.write_ns, cost.counts});
  return cost;
}

}  // namespace qxbar
