#include "search/reward.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "sim/core/errors.h"

namespace qxbar {

const Registry<CostMetric>& cost_metrics() {
  static const Registry<CostMetric> registry("cost", {
      {"latency", "inference latency (ns)", [](const NetworkCost& cost) { return cost.latency_ns; }},
      {"energy", "inference energy (pJ)", [](const NetworkCost& cost) { return cost.energy_pj.total(); }},
      {"edp", "energy-delay product (pJ ns)",
       [](const NetworkCost& cost) { return cost.latency_ns * cost.energy_pj.total(); }},
  });
  return registry;
}

std::vector<std::string> cost_metric_names() { return cost_metrics().names(); }

double cimaq_reward(double accuracy_points, double reference_points, double max_drop_points, double cost_ratio) {
  const double target = reference_points - max_drop_points;
  if (accuracy_points < target) return -10.0 * (target - accuracy_points);
  return 100.0 * (1.0 / cost_ratio - 1.0) + 0.1 * (accuracy_points - target);
}

double budget_penalty(double cost_ratio, double budget) { return -10.0 - 100.0 * (cost_ratio - budget); }

int action_to_bits(double action, int min_bits, int max_bits) {
  const double clamped = std::clamp(action, 0.0, 1.0);
  const double spread = (max_bits + 0.5) - (min_bits - 0.5);
  const auto bits = static_cast<int>(std::lround(spread * clamped + min_bits - 0.5));
  return std::clamp(bits, min_bits, max_bits);
}

std::vector<int> cell_bit_choices(int min_bits, int max_bits, int cell_bits) {
  std::vector<int> choices;
  for (int bits = min_bits; bits <= max_bits; ++bits) {
    if (bits % cell_bits == 0) choices.push_back(bits);
  }
  if (choices.empty()) choices.push_back((max_bits / cell_bits + 1) * cell_bits);
  return choices;
}

int action_to_cell_bits(double action, int min_bits, int max_bits, int cell_bits) {
  const std::vector<int> choices = cell_bit_choices(min_bits, max_bits, cell_bits);
  const double clamped = std::clamp(action, 0.0, 1.0);
  const auto index = std::min(static_cast<std::size_t>(clamped * static_cast<double>(choices.size())), choices.size() - 1);
  return choices[index];
}

}  // namespace qxbar
