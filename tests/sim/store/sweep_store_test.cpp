#include "sim/store/sweep_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sim/core/sqlite_db.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using ::testing::HasSubstr;
using testing::error_message;
using testing::TempDir;

const std::vector<std::string> kAxes = {"crossbar.rows", "adc.bits", "crossbar.device"};

SweepRow point(std::size_t index, std::vector<std::string> values, const std::string& network, const std::string& policy,
               const std::string& status) {
  SweepRow row;
  row.index = index;
  row.values = std::move(values);
  row.network = network;
  row.policy = policy;
  row.status = status;
  return row;
}

// A priced point whose every field differs from its default and from the other fields, with doubles that
// only read back exactly when all their digits are kept.
SweepRow priced_row() {
  SweepRow row = point(7, {"128", "0.5", "rram"}, "lenet5-fmnist", "4,8", "ok");
  row.latency_ns = 17068800;
  row.energy_pj = 0.1 + 0.2;
  row.area_mm2 = 1e20;
  for (std::size_t component = 0; component < kComponentCount; ++component) {
    row.energy_by_component_pj.values[component] = 1.0 / 3 + static_cast<double>(component);
  }
  row.chip = "71f587d86a246e73";
  row.accuracy = 0.1 + 0.7;
  row.accuracy_std = 0.0125;
  row.chosen_policy = "8/8;4/6;8/8";
  row.objective = 1.0 / 7;
  return row;
}

// What priced_row()'s accuracy was evaluated from.
const AccuracyKey kEvaluated{"5e1ec7ed0c4ec4b0", "71f587d86a246e73", "4/8;4/8;4/8;4/8;4/8"};

SweepRow invalid_row() { return point(2, {"0", "8", "sram"}, "resnet18-imagenet", "policy.yaml", "crossbar.rows: must be >= 1, got 0"); }

void expect_same_row(const SweepRow& actual, const SweepRow& expected) {
  EXPECT_EQ(actual.index, expected.index);
  EXPECT_EQ(actual.values, expected.values);
  EXPECT_EQ(actual.network, expected.network);
  EXPECT_EQ(actual.policy, expected.policy);
  EXPECT_EQ(actual.status, expected.status);
  EXPECT_EQ(actual.latency_ns, expected.latency_ns);
  EXPECT_EQ(actual.energy_pj, expected.energy_pj);
  EXPECT_EQ(actual.area_mm2, expected.area_mm2);
  EXPECT_EQ(actual.energy_by_component_pj.values, expected.energy_by_component_pj.values);
  EXPECT_EQ(actual.chip, expected.chip);
  EXPECT_EQ(actual.accuracy, expected.accuracy);
  EXPECT_EQ(actual.accuracy_std, expected.accuracy_std);
  EXPECT_EQ(actual.chosen_policy, expected.chosen_policy);
  EXPECT_EQ(actual.objective, expected.objective);
}

TEST(SweepStore, RowsReadBackAsWrittenInPointOrder) {
  TempDir dir;
  const std::string path = dir.file("points.sqlite");
  {
    SweepStore store(path, kAxes, "plan");
    store.insert(priced_row(), kEvaluated);
    store.insert(invalid_row());
    SweepRow again = priced_row();
    again.status = "priced twice";
    store.insert(again, kEvaluated);  // kept as first stored
    EXPECT_EQ(store.stored_ids(), (std::vector<std::size_t>{2, 7}));
  }
  const SweepResults results = read_sweep(path);
  EXPECT_EQ(results.axes, kAxes);
  ASSERT_EQ(results.rows.size(), 2u);
  expect_same_row(results.rows[0], invalid_row());
  expect_same_row(results.rows[1], priced_row());
}

TEST(SweepStore, CsvShowsNumbersAsSqlitePrintsThemAndNoCostsForInvalidPoints) {
  TempDir dir;
  const std::string path = dir.file("points.sqlite");
  {
    SweepStore store(path, kAxes, "plan");
    store.insert(priced_row(), kEvaluated);
    store.insert(invalid_row());
    SweepRow untested = priced_row();
    untested.index = 9;
    untested.accuracy.reset();
    untested.accuracy_std.reset();
    untested.chosen_policy.reset();
    untested.objective.reset();
    store.insert(untested);
  }
  EXPECT_EQ(sweep_csv(read_sweep(path)),
            "id,crossbar.rows,adc.bits,crossbar.device,network,policy,status,latency_ns,energy_pj,area_mm2,"
            "energy_crossbar_pj,energy_dac_pj,energy_adc_pj,energy_shift_add_pj,energy_buffer_pj,energy_interconnect_pj,"
            "energy_write_pj,energy_leakage_pj,chip,accuracy,accuracy_std,chosen_policy,objective\n"
            "2,0,8,sram,resnet18-imagenet,policy.yaml,\"crossbar.rows: must be >= 1, got 0\",,,,,,,,,,,,,,,,\n"
            "7,128,0.5,rram,lenet5-fmnist,\"4,8\",ok,17068800.0,0.3,1.0e+20,0.333333333333333,1.33333333333333,"
            "2.33333333333333,3.33333333333333,4.33333333333333,5.33333333333333,6.33333333333333,7.33333333333333,"
            "71f587d86a246e73,0.8,0.0125,8/8;4/6;8/8,0.142857142857143\n"
            "9,128,0.5,rram,lenet5-fmnist,\"4,8\",ok,17068800.0,0.3,1.0e+20,0.333333333333333,1.33333333333333,"
            "2.33333333333333,3.33333333333333,4.33333333333333,5.33333333333333,6.33333333333333,7.33333333333333,"
            "71f587d86a246e73,,,,\n");
}

TEST(SweepStore, AccuracyIsStoredWithItsPointAndKeyedByWhatItWasEvaluatedFrom) {
  TempDir dir;
  const std::string path = dir.file("points.sqlite");
  SweepStore store(path, kAxes, "plan");
  EXPECT_TRUE(store.accuracies().empty());
  EXPECT_THROW(store.insert(priced_row()), std::logic_error);
  EXPECT_TRUE(store.stored_ids().empty());
  store.insert(priced_row(), kEvaluated);
  // Another point of the same arithmetic (another network of the same layers) keeps the first accuracy.
  SweepRow same = priced_row();
  same.index = 8;
  same.accuracy = 0.5;
  same.accuracy_std = 0.0;
  store.insert(same, kEvaluated);
  AccuracyKey other_policy = kEvaluated;
  other_policy.policy = "8/8;8/8;8/8;8/8;8/8";
  same.index = 9;
  store.insert(same, other_policy);
  EXPECT_EQ(store.accuracies(), (Accuracies{{kEvaluated, {0.1 + 0.7, 0.0125}}, {other_policy, {0.5, 0.0}}}));
  EXPECT_EQ(decode_accuracies(encode_accuracies(store.accuracies())), store.accuracies());
  EXPECT_TRUE(decode_accuracies(encode_accuracies({})).empty());
  // A point whose row is lost (killed mid-write) loses its accuracy with it: row and accuracy are one commit.
  SqliteDb(path).execute("DROP TABLE accuracies");
  same.index = 10;
  EXPECT_THROW(store.insert(same, other_policy), DataError);
  EXPECT_EQ(store.stored_ids(), (std::vector<std::size_t>{7, 8, 9}));
}

TEST(SweepStore, TableOfTheFirstLayoutIsStillRead) {
  EXPECT_EQ(sweep_table_layout(), "points-v3,crossbar,dac,adc,shift_add,buffer,interconnect,write,leakage");
  TempDir dir;
  // A database as the first version of qxbar sweep wrote it.
  const std::string old = dir.file("old.sqlite");
  {
    SqliteDb db(old);
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    db.execute("CREATE TABLE points (id INTEGER PRIMARY KEY, \"crossbar.rows\", network TEXT NOT NULL, policy TEXT NOT NULL,"
               " status TEXT NOT NULL, latency_ns REAL, energy_pj REAL, area_mm2 REAL, energy_crossbar_pj REAL,"
               " energy_dac_pj REAL, energy_adc_pj REAL, energy_shift_add_pj REAL, energy_buffer_pj REAL,"
               " energy_interconnect_pj REAL, energy_write_pj REAL, energy_leakage_pj REAL, chip TEXT)");
    db.execute("INSERT INTO meta VALUES ('plan', 'old plan')");
    db.execute("INSERT INTO points VALUES (0, 64, 'lenet5-fmnist', '8,8', 'ok', 10, 9, 0.5, 1, 2, 3, 0, 3, 0, 0, 0, 'c0')");
  }
  const SweepResults results = read_sweep(old);
  EXPECT_EQ(results.axes, (std::vector<std::string>{"crossbar.rows"}));
  ASSERT_EQ(results.rows.size(), 1u);
  EXPECT_EQ(results.rows[0].values, (std::vector<std::string>{"64"}));
  EXPECT_EQ(results.rows[0].energy_pj, 9);
  EXPECT_EQ(results.rows[0].energy_by_component_pj[Component::Adc], 3);
  EXPECT_EQ(results.rows[0].chip, "c0");
  EXPECT_FALSE(results.rows[0].accuracy.has_value());
  EXPECT_FALSE(results.rows[0].chosen_policy.has_value());
}

TEST(SweepStore, AnAccuracyMeasuredAfterPricingReachesEveryPointItStandsFor) {
  TempDir dir;
  const std::string path = dir.file("points.sqlite");
  SweepStore store(path, kAxes, "plan");
  SweepRow untested = priced_row();
  untested.accuracy.reset();
  untested.accuracy_std.reset();
  for (const std::size_t index : {3, 4, 5}) {
    untested.index = index;
    store.insert(untested);
  }
  store.insert(invalid_row());
  // Points 3 and 5 (and the invalid point 2, which has no accuracy to take) share the measured policy.
  store.add_accuracy({2, 3, 5}, kEvaluated, {0.75, 0.0});
  const SweepResults results = read_sweep(path);
  ASSERT_EQ(results.rows.size(), 4u);
  EXPECT_FALSE(results.rows[0].accuracy.has_value());
  EXPECT_EQ(results.rows[1].accuracy, 0.75);
  EXPECT_FALSE(results.rows[2].accuracy.has_value());
  EXPECT_EQ(results.rows[3].accuracy, 0.75);
  EXPECT_EQ(results.rows[3].accuracy_std, 0.0);
  EXPECT_EQ(store.accuracies(), (Accuracies{{kEvaluated, {0.75, 0.0}}}));
  // A reference measured for no point in particular is kept all the same.
  AccuracyKey reference = kEvaluated;
  reference.policy = "8/8;8/8;8/8";
  store.add_accuracy({}, reference, {0.9, 0.0});
  EXPECT_EQ(store.accuracies().size(), 2u);
}

TEST(SweepStore, HoldsOnePlanAndMergesShardsOfIt) {
  TempDir dir;
  const std::string whole = dir.file("whole.sqlite");
  const std::string shard = dir.file("shard.sqlite");
  const std::string other = dir.file("other.sqlite");
  {
    SweepStore store(shard, kAxes, "plan");
    store.insert(priced_row(), kEvaluated);
    store.insert(invalid_row());
  }
  { SweepStore(other, kAxes, "another plan").insert(invalid_row()); }
  EXPECT_THAT(error_message<ConfigError>([&] { SweepStore(other, kAxes, "plan"); }),
              HasSubstr(other + ": holds the points of another sweep"));

  SweepStore store(whole, kAxes, "plan");
  store.insert(invalid_row());
  EXPECT_EQ(store.merge_from(shard), 1u);
  EXPECT_EQ(store.stored_ids(), (std::vector<std::size_t>{2, 7}));
  EXPECT_EQ(store.accuracies(), (Accuracies{{kEvaluated, {0.1 + 0.7, 0.0125}}}));
  EXPECT_THAT(error_message<ConfigError>([&] { store.merge_from(other); }), HasSubstr(other + ": holds the points of another sweep"));
  EXPECT_THAT(error_message<DataError>([&] { store.merge_from(dir.file("none.sqlite")); }), HasSubstr("no such sweep database"));
  // Garbage is blamed on itself, not on the database merged into.
  const std::string garbage = dir.write("garbage.sqlite", "not a database\n");
  EXPECT_EQ(error_message<DataError>([&] { store.merge_from(garbage); }), garbage + ": not a sweep database");
  const std::string empty = dir.file("empty.sqlite");
  SqliteDb(empty).execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  EXPECT_EQ(error_message<DataError>([&] { store.merge_from(empty); }), empty + ": not a sweep database");
  EXPECT_EQ(store.merge_from(shard), 0u);
}

TEST(SweepStore, ReadingRejectsWhatIsNoSweepDatabase) {
  TempDir dir;
  EXPECT_THAT(error_message<DataError>([&] { read_sweep(dir.file("none.sqlite")); }), HasSubstr("no such sweep database"));
  const std::string empty = dir.file("empty.sqlite");
  SqliteDb(empty).execute("CREATE TABLE evaluations (id INTEGER PRIMARY KEY)");
  EXPECT_THAT(error_message<DataError>([&] { read_sweep(empty); }), HasSubstr("no points table"));
  const std::string other = dir.file("other.sqlite");
  SqliteDb(other).execute("CREATE TABLE points (id INTEGER PRIMARY KEY, network TEXT, status TEXT)");
  EXPECT_THAT(error_message<DataError>([&] { read_sweep(other); }), HasSubstr("not a sweep database"));
}

TEST(SweepStore, RowsTravelBetweenProcessesBitForBit) {
  const std::vector<SweepRow> rows = {priced_row(), invalid_row(), point(0, {}, "lenet5-fmnist", "8,8", "ok")};
  const std::vector<SweepRow> received = decode_sweep_rows(encode_sweep_rows(rows));
  ASSERT_EQ(received.size(), rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) expect_same_row(received[i], rows[i]);
  EXPECT_TRUE(decode_sweep_rows(encode_sweep_rows({})).empty());
}

}  // namespace
}  // namespace qxbar
