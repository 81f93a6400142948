#pragma once

#include <map>
#include <string>
#include <vector>

#include "plots/figure.h"
#include "sim/store/sweep_store.h"

namespace qxbar {

// A sweep database (qxbar sweep) as the figures see it: its points, and the name its figures go under.
struct SweepTable : SweepResults {
  std::string name;  // the database's file name without extension
};

// Reads a sweep database; a missing file, a file without a points table or one without points is a DataError.
SweepTable read_sweep_table(const std::string& database);

struct SweepFigureOptions {
  std::string x_axis;                         // heatmap columns; default the first swept key
  std::string y_axis;                         // heatmap rows; default the second swept key
  std::map<std::string, std::string> fixed;   // values of the other keys; default each one's first value
};

// For every network and policy of the sweep: latency and energy heatmaps over two swept keys (the others
// fixed, invalid chips left blank) when the sweep has two keys or more, and an accuracy heatmap beside them
// where the chips were tested; and an energy-vs-latency scatter of every valid chip coloured by area with
// the Pareto set over (latency, energy, area), and accuracy where the chips were tested, ringed.
std::vector<Figure> sweep_figures(const SweepTable& table, const SweepFigureOptions& options);

}  // namespace qxbar
