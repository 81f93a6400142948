#pragma once

#include <cstddef>
#include <vector>

namespace qxbar {

struct TradeOff {
  double cost = 0;      // lower is better (latency, energy, area)
  double quality = 0;   // higher is better (accuracy)
};

// Indices of the points no other point dominates (as cheap or cheaper and at least as good, better in one),
// ordered by increasing cost. Equal points are all kept: none dominates another.
std::vector<std::size_t> pareto_front(const std::vector<TradeOff>& points);

// Indices, in order, of the points no other point dominates when every coordinate is a cost (lower is
// better): at most as large in all, smaller in one. Equal points are all kept.
std::vector<std::size_t> pareto_set(const std::vector<std::vector<double>>& costs);

}  // namespace qxbar
