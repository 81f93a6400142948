#include "sim/cost_cache.h"

#include <gtest/gtest.h>

#include "sim/analytical_engine.h"
#include "sim/systemc/systemc_engine.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using qxbar::testing::TempDir;

const LayerShape kLayer{"conv", LayerKind::Conv, 576, 64, 196, 1};

TEST(CostCache, ServesStoredCostsAcrossProcessesByFile) {
  TempDir dir;
  const ChipSpec chip = load_chip("isaac");
  const LayerCost direct = SystemcEngine(chip).price(kLayer, {4, 6});
  {
    const CachedEngine engine(std::make_unique<SystemcEngine>(chip), std::make_shared<CostCache>(dir.file("c.sqlite")));
    EXPECT_EQ(engine.price(kLayer, {4, 6}).latency_ns, direct.latency_ns);
  }
  auto cache = std::make_shared<CostCache>(dir.file("c.sqlite"));
  const CachedEngine engine(std::make_unique<SystemcEngine>(chip), cache);
  const LayerCost cached = engine.price(kLayer, {4, 6});
  EXPECT_EQ(cache->hits(), 1);
  EXPECT_EQ(cache->misses(), 0);
  EXPECT_EQ(cached.latency_ns, direct.latency_ns);
  EXPECT_EQ(cached.write_ns, direct.write_ns);
  EXPECT_EQ(cached.energy_pj.values, direct.energy_pj.values);
  EXPECT_EQ(cached.mapping.crossbars, direct.mapping.crossbars);
}

TEST(CostCache, KeyCoversEngineChipShapeAndBits) {
  TempDir dir;
  auto cache = std::make_shared<CostCache>(dir.file("c.sqlite"));
  const ChipSpec chip = load_chip("isaac");
  const SystemcEngine simulated(chip);
  cache->store(simulated, kLayer, {4, 6}, {123.0, 0.0, {}});
  EXPECT_TRUE(cache->find(simulated, kLayer, {4, 6}).has_value());
  EXPECT_FALSE(cache->find(AnalyticalEngine(chip), kLayer, {4, 6}).has_value());
  EXPECT_FALSE(cache->find(SystemcEngine(load_chip("isaac", {"adc.bits=6"})), kLayer, {4, 6}).has_value());
  EXPECT_FALSE(cache->find(simulated, kLayer, {4, 5}).has_value());
  LayerShape longer = kLayer;
  longer.mvm_invocations += 1;
  EXPECT_FALSE(cache->find(simulated, longer, {4, 6}).has_value());
  EXPECT_EQ(cache->find(simulated, kLayer, {4, 6})->latency_ns, 123.0);
}

TEST(CostCache, UnwrittenEntriesDoNotLockOutOtherProcesses) {
  TempDir dir;
  const SystemcEngine engine(load_chip("isaac"));
  CostCache first(dir.file("c.sqlite"));
  first.store(engine, kLayer, {4, 6}, {123.0, 0.0, {}});
  CostCache second(dir.file("c.sqlite"));
  second.store(engine, kLayer, {8, 8}, {456.0, 0.0, {}});
  second.flush();  // would wait for `first` and fail if it held the file until its batch was full
  first.flush();
  CostCache reader(dir.file("c.sqlite"));
  EXPECT_EQ(reader.find(engine, kLayer, {4, 6})->latency_ns, 123.0);
  EXPECT_EQ(reader.find(engine, kLayer, {8, 8})->latency_ns, 456.0);
}

TEST(CostCache, UnusableFileIsADataError) {
  TempDir dir;
  dir.write("not-a-db.sqlite", std::string(4096, 'x'));
  EXPECT_THROW(CostCache(dir.file("not-a-db.sqlite")), DataError);
}

}  // namespace
}  // namespace qxbar
