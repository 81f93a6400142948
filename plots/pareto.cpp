#include "plots/pareto.h"

#include <algorithm>
#include <numeric>

namespace qxbar {

std::vector<std::size_t> pareto_front(const std::vector<TradeOff>& points) {
  std::vector<std::size_t> order(points.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (points[a].cost != points[b].cost) return points[a].cost < points[b].cost;
    return points[a].quality > points[b].quality;
  });
  std::vector<std::size_t> front;
  for (const std::size_t index : order) {
    const TradeOff& point = points[index];
    if (front.empty() || point.quality > points[front.back()].quality) {
      front.push_back(index);
    } else if (point.quality == points[front.back()].quality && point.cost == points[front.back()].cost) {
      front.push_back(index);
    }
  }
  return front;
}

std::vector<std::size_t> pareto_set(const std::vector<std::vector<double>>& costs) {
  auto dominates = [](const std::vector<double>& a, const std::vector<double>& b) {
    bool smaller_somewhere = false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i] > b[i]) return false;
      smaller_somewhere = smaller_somewhere || a[i] < b[i];
    }
    return smaller_somewhere;
  };
  std::vector<std::size_t> set;
  for (std::size_t candidate = 0; candidate < costs.size(); ++candidate) {
    const bool dominated = std::any_of(costs.begin(), costs.end(),
                                       [&](const std::vector<double>& other) { return dominates(other, costs[candidate]); });
    if (!dominated) set.push_back(candidate);
  }
  return set;
}

}  // namespace qxbar
