#include "sim/cost_cache.h"

#include <cstdlib>

namespace qxbar {
namespace {

constexpr std::size_t kBatchSize = 256;

// Counter columns follow counter_infos(), so a new counter changes the schema and the table name with it.
std::string table_name() { return "layer_costs_v" + std::to_string(counter_infos().size()); }

}  // namespace

namespace {

std::string create_table(SqliteDb& db) {
  db.execute("PRAGMA journal_mode=WAL");
  std::string columns;
  for (const CounterInfo& info : counter_infos()) columns += std::string(", ") + info.name + " INTEGER NOT NULL";
  db.execute("CREATE TABLE IF NOT EXISTS " + table_name() +
             " (engine TEXT NOT NULL, chip TEXT NOT NULL, input_dim INTEGER NOT NULL, output_dim INTEGER NOT NULL,"
             " invocations INTEGER NOT NULL, repeat_factor INTEGER NOT NULL, w_bits INTEGER NOT NULL,"
             " a_bits INTEGER NOT NULL, latency_ns REAL NOT NULL, write_ns REAL NOT NULL" + columns +
             ", PRIMARY KEY (engine, chip, input_dim, output_dim, invocations, repeat_factor, w_bits, a_bits))");
  return table_name();
}

std::string select_sql(const std::string& table) {
  std::string columns = "latency_ns, write_ns";
  for (const CounterInfo& info : counter_infos()) columns += std::string(", ") + info.name;
  return "SELECT " + columns + " FROM " + table +
         " WHERE engine = ? AND chip = ? AND input_dim = ? AND output_dim = ? AND invocations = ?"
         " AND repeat_factor = ? AND w_bits = ? AND a_bits = ?";
}

std::string insert_sql(const std::string& table) {
  std::string placeholders;
  for (std::size_t i = 0; i < counter_infos().size(); ++i) placeholders += ", ?";
  return "INSERT OR IGNORE INTO " + table + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?" + placeholders + ")";
}

}  // namespace

CostCache::CostCache(const std::string& path)
    : db_(path, 10000), select_(db_.prepare(select_sql(create_table(db_)))), insert_(db_.prepare(insert_sql(table_name()))) {}

CostCache::~CostCache() {
  try {
    flush();
  } catch (const DataError&) {
    // Losing unsaved cache entries only costs time later; a destructor must not throw.
  }
}

CostCache::Key CostCache::key_of(const CostEngine& engine, const LayerShape& layer, Bits bits) {
  return {engine.identity(), engine.chip().fingerprint, layer.input_dim, layer.output_dim, layer.mvm_invocations,
          layer.repeat_factor, bits.w, bits.a};
}

void CostCache::bind_key(SqliteStatement& statement, const Key& key) {
  statement.bind(1, std::get<0>(key))
      .bind(2, std::get<1>(key))
      .bind(3, std::get<2>(key))
      .bind(4, std::get<3>(key))
      .bind(5, std::get<4>(key))
      .bind(6, std::get<5>(key))
      .bind(7, std::get<6>(key))
      .bind(8, std::get<7>(key));
}

std::optional<CachedCost> CostCache::find(const CostEngine& engine, const LayerShape& layer, Bits bits) {
  const Key key = key_of(engine, layer, bits);
  if (const auto waiting = pending_.find(key); waiting != pending_.end()) {
    ++hits_;
    return waiting->second;
  }
  select_.reset();
  bind_key(select_, key);
  if (!select_.next_row()) {
    ++misses_;
    return std::nullopt;
  }
  CachedCost cost;
  cost.latency_ns = select_.real(0);
  cost.write_ns = select_.real(1);
  int column = 2;
  for (const CounterInfo& info : counter_infos()) cost.counts.*info.field = select_.integer(column++);
  select_.reset();  // ends the read, so other processes' writes are not held up
  ++hits_;
  return cost;
}

void CostCache::store(const CostEngine& engine, const LayerShape& layer, Bits bits, const CachedCost& cost) {
  pending_.emplace(key_of(engine, layer, bits), cost);
  if (pending_.size() >= kBatchSize) flush();
}

void CostCache::flush() {
  if (pending_.empty()) return;
  db_.transaction([this] {
    for (const auto& [key, cost] : pending_) {
      bind_key(insert_, key);
      insert_.bind(9, cost.latency_ns).bind(10, cost.write_ns);
      int column = 11;
      for (const CounterInfo& info : counter_infos()) insert_.bind(column++, cost.counts.*info.field);
      insert_.run();
    }
  });
  pending_.clear();
}

std::string CostCache::default_path() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg != nullptr && *xdg != '\0') {
    return std::string(xdg) + "/qxbar/costs.sqlite";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : ".") + "/.cache/qxbar/costs.sqlite";
}

LayerCost CachedEngine::price(const LayerShape& layer, Bits bits) const {
  // Per-channel widths are not part of the cache's key; such layers are rare enough to price each time.
  if (bits.is_per_channel()) return engine_->price(layer, bits);
  if (const std::optional<CachedCost> cached = cache_->find(*engine_, layer, bits)) {
    LayerCost cost;
    cost.mapping = map_layer(chip(), layer, bits);
    cost.latency_ns = cached->latency_ns;
    cost.write_ns = cached->write_ns;
    cost.counts = cached->counts;
    cost.energy_pj = energy_of(chip(), bits, cost.counts, cost.latency_ns);
    return cost;
  }
  LayerCost cost = engine_->price(layer, bits);
  cache_->store(*engine_, layer, bits, {cost.latency_ns, cost.write_ns, cost.counts});
  return cost;
}

}  // namespace qxbar
