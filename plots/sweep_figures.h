#pragma once

#include <map>
#include <string>
#include <vector>

#include "plots/figure.h"

namespace qxbar {

// The points table of a sweep database (qxbar sweep), as the figures see it.
struct SweepTable {
  struct Row {
    std::vector<std::string> values;  // one per axis
    std::string network;
    std::string policy;
    bool ok = false;  // false: an invalid combination, without costs
    double latency_ns = 0;
    double energy_pj = 0;
    double area_mm2 = 0;
  };
  std::string name;                // the database's file name without extension
  std::vector<std::string> axes;   // the swept chip keys, in the sweep file's order
  std::vector<Row> rows;           // in point order
};

// Reads a sweep database; a missing file or a file without a points table is a DataError.
SweepTable read_sweep_table(const std::string& database);

struct SweepFigureOptions {
  std::string x_axis;                         // heatmap columns; default the first swept key
  std::string y_axis;                         // heatmap rows; default the second swept key
  std::map<std::string, std::string> fixed;   // values of the other keys; default each one's first value
};

// For every network and policy of the sweep: latency and energy heatmaps over two swept keys (the others
// fixed, invalid chips left blank) when the sweep has two keys or more, and an energy-vs-latency scatter of
// every valid chip coloured by area with the Pareto set over (latency, energy, area) ringed.
std::vector<Figure> sweep_figures(const SweepTable& table, const SweepFigureOptions& options);

}  // namespace qxbar
