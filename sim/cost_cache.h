#pragma once

#include <map>
#include <memory>
#include <tuple>
#include <optional>
#include <string>

#include "sim/core/sqlite_db.h"
#include "sim/cost_engine.h"

namespace qxbar {

// What is stored of a priced layer; mapping and energy are cheap to derive again from the chip.
struct CachedCost {
  double latency_ns = 0;
  double write_ns = 0;
  ActionCounts counts;
};

// Priced layers kept on disk in SQLite, keyed by (engine identity, chip fingerprint, layer shape, bits), so
// a search or a second run never prices the same thing twice. Several processes may share one file.
// New entries wait in memory and are written in batches, each one short transaction, so a process never
// holds the file locked while it works; whatever was not yet written when a process dies is simply priced
// again next time.
class CostCache {
 public:
  explicit CostCache(const std::string& path);
  ~CostCache();
  CostCache(const CostCache&) = delete;
  CostCache& operator=(const CostCache&) = delete;

  std::optional<CachedCost> find(const CostEngine& engine, const LayerShape& layer, Bits bits);
  void store(const CostEngine& engine, const LayerShape& layer, Bits bits, const CachedCost& cost);
  void flush();  // commits pending entries

  std::int64_t hits() const { return hits_; }
  std::int64_t misses() const { return misses_; }

  // $XDG_CACHE_HOME/qxbar/costs.sqlite, or ~/.cache/qxbar/costs.sqlite.
  static std::string default_path();

 private:
  using Key = std::tuple<std::string, std::string, std::int64_t, std::int64_t, std::int64_t, std::int64_t, int, int>;
  static Key key_of(const CostEngine& engine, const LayerShape& layer, Bits bits);
  static void bind_key(SqliteStatement& statement, const Key& key);

  SqliteDb db_;
  SqliteStatement select_;
  SqliteStatement insert_;
  std::map<Key, CachedCost> pending_;
  std::int64_t hits_ = 0;
  std::int64_t misses_ = 0;
};

// Looks every layer up in the cache before asking the engine it wraps; layers with per-channel weight
// widths go to the engine directly.
class CachedEngine : public CostEngine {
 public:
  CachedEngine(std::unique_ptr<CostEngine> engine, std::shared_ptr<CostCache> cache)
      : engine_(std::move(engine)), cache_(std::move(cache)) {}
  LayerCost price(const LayerShape& layer, Bits bits) const override;
  const ChipSpec& chip() const override { return engine_->chip(); }
  std::string identity() const override { return engine_->identity(); }

 private:
  std::unique_ptr<CostEngine> engine_;
  std::shared_ptr<CostCache> cache_;
};

}  // namespace qxbar
