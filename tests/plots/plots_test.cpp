#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <sstream>

#include "plots/breakdown.h"
#include "plots/pareto.h"
#include "plots/search_figures.h"
#include "plots/sweep_figures.h"
#include "sim/analytical_engine.h"
#include "sim/chip_spec.h"
#include "sim/cost_engine.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using testing::read_text;
using testing::TempDir;

bool dominates(const TradeOff& a, const TradeOff& b) {
  return a.cost <= b.cost && a.quality >= b.quality && (a.cost < b.cost || a.quality > b.quality);
}

TEST(Pareto, FrontIsNonDominatedAndComplete) {
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> value(0, 30);  // coarse values, so ties and duplicates occur
  std::vector<TradeOff> points;
  for (int i = 0; i < 300; ++i) points.push_back({static_cast<double>(value(rng)), static_cast<double>(value(rng))});
  const std::vector<std::size_t> front = pareto_front(points);
  const std::set<std::size_t> on_front(front.begin(), front.end());
  for (std::size_t i = 0; i < points.size(); ++i) {
    bool dominated = false;
    for (const TradeOff& other : points) dominated = dominated || dominates(other, points[i]);
    EXPECT_EQ(on_front.count(i) == 1, !dominated) << points[i].cost << ", " << points[i].quality;
  }
  for (std::size_t i = 1; i < front.size(); ++i) EXPECT_LE(points[front[i - 1]].cost, points[front[i]].cost);
}

EvaluatedPolicy row(EvaluatedPolicy::Kind kind, int episode, const std::string& label, const std::string& policy,
                    double accuracy, double latency_ns, double reward) {
  EvaluatedPolicy row;
  row.kind = kind;
  row.episode = episode;
  row.label = label;
  row.policy = parse_policy_summary(policy, "test");
  row.evaluation.accuracy = accuracy;
  row.evaluation.latency_ns = latency_ns;
  row.evaluation.energy_pj = latency_ns / 10;
  row.evaluation.reward = reward;
  return row;
}

// The lines of data block `index` (blocks are separated by two blank lines), comments dropped.
std::vector<std::string> block(const std::string& data, int index) {
  std::vector<std::string> lines;
  std::istringstream in(data);
  std::string line;
  int blanks = 0;
  int current = 0;
  while (std::getline(in, line)) {
    if (line.empty()) {
      if (++blanks == 2) ++current;
      continue;
    }
    blanks = 0;
    if (line[0] != '#' && current == index) lines.push_back(line);
  }
  return lines;
}

TEST(SearchFigures, ParetoDataBaselinesChosenAndImages) {
  const TempDir dir;
  {
    SearchStore store(dir.file("run/search.sqlite"));
    store.append(row(EvaluatedPolicy::Kind::Baseline, 0, "W8A8", "8/8;8/8", 0.91, 10000, 0.1));
    store.append(row(EvaluatedPolicy::Kind::Baseline, 0, "W4A4", "4/4;4/4", 0.85, 5000, -40));
    store.append(row(EvaluatedPolicy::Kind::Search, 1, "", "8/4;8/8", 0.90, 6000, 60));
    store.append(row(EvaluatedPolicy::Kind::Search, 2, "", "8/8;4/8", 0.88, 9000, -20));  // dominated
    store.append(row(EvaluatedPolicy::Kind::Search, 3, "", "8/3;6/8", 0.905, 5500, 80));
  }
  const SearchRunData run = read_search_run(dir.file("run"));
  EXPECT_EQ(run.name, "run");
  const std::vector<Figure> figures = search_figures({run});
  ASSERT_EQ(figures.size(), 4u);
  const Figure& pareto = figures[0];
  EXPECT_EQ(pareto.name, "pareto_latency");
  EXPECT_EQ(block(pareto.data, 0).size(), 3u);
  EXPECT_EQ(block(pareto.data, 1), (std::vector<std::string>{"5 85 \"W4A4\"", "5.5 90.5 \"8/3;6/8\"", "10 91 \"W8A8\""}));
  EXPECT_EQ(block(pareto.data, 2).size(), 2u);
  EXPECT_EQ(block(pareto.data, 3), (std::vector<std::string>{"5.5 90.5 \"8/3;6/8\""}));
  EXPECT_EQ(figures[2].name, "bits");
  EXPECT_EQ(block(figures[2].data, 0), (std::vector<std::string>{"1 8 3", "2 6 8"}));
  EXPECT_EQ(block(figures[3].data, 0), (std::vector<std::string>{"1 60 60", "2 -20 60", "3 80 80"}));

  for (const Figure& figure : figures) render(figure, dir.file("figures"), {"png", "svg"});
  const std::string png = read_text(dir.file("figures/pareto_latency.png"));
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_NE(read_text(dir.file("figures/bits.svg")).find("<svg"), std::string::npos);
  EXPECT_NE(read_text(dir.file("figures/progress.gp")).find("'progress.dat'"), std::string::npos);
  EXPECT_EQ(read_text(dir.file("figures/progress.dat")), figures[3].data);
}

TEST(SearchFigures, ARunWithBaselinesOnlyKeepsEveryBlockInItsPlace) {
  const TempDir dir;
  {
    SearchStore store(dir.file("run/search.sqlite"));
    store.append(row(EvaluatedPolicy::Kind::Baseline, 0, "W8A8", "8/8;8/8", 0.91, 10000, 0.1));
    store.append(row(EvaluatedPolicy::Kind::Baseline, 0, "W4A4", "4/4;4/4", 0.85, 5000, -40));
  }
  const std::vector<Figure> figures = search_figures({read_search_run(dir.file("run"))});
  ASSERT_EQ(figures.size(), 2u);
  // No searched policy: a NaN point holds block 0, so the front is still block 1.
  EXPECT_EQ(block(figures[0].data, 0), (std::vector<std::string>{"NaN NaN \"\""}));
  EXPECT_EQ(block(figures[0].data, 1), (std::vector<std::string>{"5 85 \"W4A4\"", "10 91 \"W8A8\""}));
  EXPECT_EQ(block(figures[0].data, 3), (std::vector<std::string>{"NaN NaN \"\""}));
  render(figures[0], dir.file("figures"), {"png"});
  EXPECT_EQ(read_text(dir.file("figures/pareto_latency.png")).substr(1, 3), "PNG");
}

TEST(Breakdown, RowsAddUpToEachLayersEnergyAndLatency) {
  const TempDir dir;
  const Workload workload{"small",
                          {{"conv1", LayerKind::Conv, 9, 16, 784, 1}, {"fc", LayerKind::Dense, 1568, 10, 1, 1}}};
  const ChipSpec chip = load_chip("cimaq_default", {});
  const NetworkCost cost = price_network(AnalyticalEngine(chip), workload, {{{8, 4}, {4, 8}}});
  const std::vector<Figure> figures = breakdown_figures(workload, cost, "small");
  ASSERT_EQ(figures.size(), 2u);
  const std::vector<std::string> energy_rows = block(figures[0].data, 0);
  const std::vector<std::string> latency_rows = block(figures[1].data, 0);
  ASSERT_EQ(energy_rows.size(), 3u);  // the column names, then one row per layer
  ASSERT_EQ(latency_rows.size(), 3u);
  for (std::size_t layer = 0; layer < 2; ++layer) {
    std::istringstream energy(energy_rows[layer + 1]);
    std::istringstream latency(latency_rows[layer + 1]);
    std::string index;
    std::string name;
    energy >> index >> name;
    latency >> index >> name;
    EXPECT_EQ(name, "\"" + workload.layers[layer].name + "\"");
    double sum = 0;
    for (double value = 0; energy >> value;) sum += value;
    EXPECT_NEAR(sum, cost.layers[layer].energy_pj.total() / 1e3, 1e-5 * sum);
    double compute = 0;
    double writes = 0;
    latency >> compute >> writes;
    EXPECT_NEAR(compute + writes, cost.layers[layer].latency_ns / 1e3, 1e-5 * (compute + writes));
    EXPECT_NEAR(writes, cost.layers[layer].write_ns / 1e3, 1e-5 * (writes + 1));
  }
  for (const Figure& figure : figures) render(figure, dir.file("figures"), {"png"});
  EXPECT_EQ(read_text(dir.file("figures/energy_breakdown.png")).substr(1, 3), "PNG");
}

TEST(SearchFigures, BrokenScriptsAndMissingRunsAreErrors) {
  const TempDir dir;
  EXPECT_THROW(read_search_run(dir.file("nothing")), DataError);
  EXPECT_THROW(parse_formats("png,gif"), ConfigError);
  const std::string message = testing::error_message<DataError>(
      [&] { render({"broken", "1 2\n", "plot 'broken.dat' using 1:2 with nonsense\n"}, dir.file("f"), {"png"}); });
  EXPECT_NE(message.find("broken.gp: gnuplot did not draw broken.png"), std::string::npos) << message;
}

TEST(Pareto, SetOverThreeCostsIsNonDominatedAndComplete) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> value(0, 6);
  std::vector<std::vector<double>> costs;
  for (int i = 0; i < 200; ++i) costs.push_back({double(value(rng)), double(value(rng)), double(value(rng))});
  const std::vector<std::size_t> set = pareto_set(costs);
  const std::set<std::size_t> in_set(set.begin(), set.end());
  for (std::size_t i = 0; i < costs.size(); ++i) {
    bool dominated = false;
    for (const auto& other : costs) {
      const bool no_worse = other[0] <= costs[i][0] && other[1] <= costs[i][1] && other[2] <= costs[i][2];
      dominated = dominated || (no_worse && other != costs[i]);
    }
    EXPECT_EQ(in_set.count(i) == 1, !dominated) << i;
  }
}

// A sweep database as qxbar sweep writes it: two swept keys, one network, one policy; (rows=0, cells=2)
// is invalid. Latency grows with rows and falls with cell bits; energy and area are chosen so that the
// Pareto set over (latency, energy, area) is known.
std::string write_sweep_database(const TempDir& dir) {
  const std::string path = dir.file("grid.sqlite");
  SweepStore store(path, {"crossbar.rows", "crossbar.cell_bits"}, "grid plan");
  struct Point { int rows, cells; const char* status; double latency_ns, energy_pj, area_mm2; };
  const std::vector<Point> points = {
      {64, 1, "ok", 4e6, 2e6, 1.0},   {64, 2, "ok", 2e6, 3e6, 1.0},   // both on the set
      {0, 1, "ok", 8e6, 1e6, 0.5},    {0, 2, "crossbar.rows: must be >= 1", 0, 0, 0},
      {128, 1, "ok", 5e6, 4e6, 2.0},  {128, 2, "ok", 2e6, 3e6, 1.5},  // dominated by (64, 2) and by (64, 1)
  };
  for (std::size_t i = 0; i < points.size(); ++i) {
    SweepRow row;
    row.index = i;
    row.values = {std::to_string(points[i].rows), std::to_string(points[i].cells)};
    row.network = "lenet5-fmnist";
    row.policy = "8,8";
    row.status = points[i].status;
    row.latency_ns = points[i].latency_ns;
    row.energy_pj = points[i].energy_pj;
    row.area_mm2 = points[i].area_mm2;
    row.chip = "c";
    store.insert(row);
  }
  return path;
}

TEST(SweepFigures, HeatmapCellsScatterParetoSetAndImages) {
  TempDir dir;
  const SweepTable table = read_sweep_table(write_sweep_database(dir));
  EXPECT_EQ(table.name, "grid");
  EXPECT_EQ(table.axes, (std::vector<std::string>{"crossbar.rows", "crossbar.cell_bits"}));
  const std::vector<Figure> figures = sweep_figures(table, {});
  ASSERT_EQ(figures.size(), 3u);
  EXPECT_EQ(figures[0].name, "latency_map_lenet5-fmnist_W8A8");
  EXPECT_EQ(figures[1].name, "energy_map_lenet5-fmnist_W8A8");
  EXPECT_EQ(figures[2].name, "tradeoff_lenet5-fmnist_W8A8");
  // Columns are rows values, rows are cell bits, in the sweep's order; latency in ms; the invalid chip is NaN.
  EXPECT_EQ(block(figures[0].data, 0), (std::vector<std::string>{"0 0 4", "1 0 8", "2 0 5", "0 1 2", "1 1 nan", "2 1 2"}));
  EXPECT_NE(figures[0].commands.find("set xtics (\"64\" 0, \"0\" 1, \"128\" 2)"), std::string::npos) << figures[0].commands;
  EXPECT_EQ(block(figures[2].data, 0).size(), 5u);
  EXPECT_EQ(block(figures[2].data, 1), (std::vector<std::string>{"4 2 1 \"crossbar.rows=64 crossbar.cell_bits=1\"",
                                                                 "2 3 1 \"crossbar.rows=64 crossbar.cell_bits=2\"",
                                                                 "8 1 0.5 \"crossbar.rows=0 crossbar.cell_bits=1\""}));
  for (const Figure& figure : figures) render(figure, dir.file("figures"), {"png", "svg"});
  EXPECT_EQ(read_text(dir.file("figures/latency_map_lenet5-fmnist_W8A8.png")).substr(1, 3), "PNG");
  EXPECT_NE(read_text(dir.file("figures/tradeoff_lenet5-fmnist_W8A8.svg")).find("<svg"), std::string::npos);

  // Swapped axes and a key that is not swept.
  SweepFigureOptions swapped;
  swapped.x_axis = "crossbar.cell_bits";
  EXPECT_EQ(block(sweep_figures(table, swapped)[0].data, 0), (std::vector<std::string>{"0 0 4", "1 0 2", "0 1 8", "1 1 nan", "0 2 5", "1 2 2"}));
  SweepFigureOptions unknown;
  unknown.fixed["adc.bits"] = "8";
  EXPECT_THROW(sweep_figures(table, unknown), ConfigError);
  EXPECT_THROW(read_sweep_table(dir.file("missing.sqlite")), DataError);
}

// A tested sweep: every chip of a 6 x 6 grid with coarse random costs and accuracies, so that ties and
// points better in accuracy alone occur.
TEST(SweepFigures, AccuracyMapAndParetoSetOverAccuracyAndCostsAgreeWithBruteForce) {
  TempDir dir;
  const std::string path = dir.file("tested.sqlite");
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> cost(1, 4);
  std::uniform_int_distribution<int> percent(10, 13);
  std::vector<SweepRow> rows;
  {
    SweepStore store(path, {"adc.bits", "crossbar.rows_per_read"}, "tested plan");
    for (std::size_t i = 0; i < 36; ++i) {
      SweepRow row;
      row.index = i;
      row.values = {std::to_string(i / 6), std::to_string(i % 6)};
      row.network = "lenet5-fmnist";
      row.policy = "8,8";
      row.status = SweepRow::kOk;
      row.latency_ns = cost(rng) * 1e6;
      row.energy_pj = cost(rng) * 1e6;
      row.area_mm2 = cost(rng);
      row.chip = "c" + std::to_string(i);
      row.accuracy = percent(rng) / 16.0;
      store.insert(row, AccuracyKey{"checkpoint", row.chip, "8/8"});
      rows.push_back(row);
    }
  }
  const std::vector<Figure> figures = sweep_figures(read_sweep_table(path), {});
  ASSERT_EQ(figures.size(), 4u);
  EXPECT_EQ(figures[2].name, "accuracy_map_lenet5-fmnist_W8A8");
  const std::vector<std::string> cells = block(figures[2].data, 0);
  ASSERT_EQ(cells.size(), rows.size());
  for (const SweepRow& row : rows) {
    std::ostringstream cell;
    cell << row.values[0] << " " << row.values[1] << " " << *row.accuracy;
    EXPECT_EQ(std::count(cells.begin(), cells.end(), cell.str()), 1) << cell.str();
  }
  EXPECT_EQ(figures[2].commands.find("logscale"), std::string::npos);
  EXPECT_NE(figures[0].commands.find("set logscale cb"), std::string::npos);

  const Figure& tradeoff = figures[3];
  EXPECT_EQ(block(tradeoff.data, 0).size(), rows.size());
  std::vector<std::string> expected;
  for (const SweepRow& row : rows) {
    const auto no_worse = [&](const SweepRow& other) {
      return other.latency_ns <= row.latency_ns && other.energy_pj <= row.energy_pj && other.area_mm2 <= row.area_mm2 &&
             *other.accuracy >= *row.accuracy;
    };
    const auto same = [&](const SweepRow& other) {
      return other.latency_ns == row.latency_ns && other.energy_pj == row.energy_pj && other.area_mm2 == row.area_mm2 &&
             *other.accuracy == *row.accuracy;
    };
    if (std::none_of(rows.begin(), rows.end(), [&](const SweepRow& other) { return no_worse(other) && !same(other); })) {
      std::ostringstream line;
      line << row.latency_ns / 1e6 << " " << row.energy_pj / 1e6 << " " << row.area_mm2 << " " << *row.accuracy
           << " \"adc.bits=" << row.values[0] << " crossbar.rows_per_read=" << row.values[1] << "\"";
      expected.push_back(line.str());
    }
  }
  EXPECT_EQ(block(tradeoff.data, 1), expected);
  // Accuracy matters: the set over the costs alone is smaller.
  std::vector<std::vector<double>> costs;
  for (const SweepRow& row : rows) costs.push_back({row.latency_ns, row.energy_pj, row.area_mm2});
  EXPECT_LT(pareto_set(costs).size(), expected.size());
  EXPECT_NE(tradeoff.commands.find("Pareto set (accuracy, latency, energy, area)"), std::string::npos);
  for (const Figure& figure : figures) render(figure, dir.file("figures"), {"png"});
  EXPECT_EQ(read_text(dir.file("figures/accuracy_map_lenet5-fmnist_W8A8.png")).substr(1, 3), "PNG");
}

}  // namespace
}  // namespace qxbar
