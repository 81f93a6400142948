#pragma once

#include <string>
#include <vector>

#include "sim/core/registry.h"
#include "sim/cost_engine.h"

namespace qxbar {

// A cost a search minimises, read off what the cost engine measured.
struct CostMetric {
  const char* name;
  const char* help;
  double (*of)(const NetworkCost& cost);
};
const Registry<CostMetric>& cost_metrics();
std::vector<std::string> cost_metric_names();

// CIM-AQ's reward. Accuracies are in percentage points; the target is the reference (INT8) accuracy
// minus the allowed drop. Below the target the reward is -10 per point missing; at or above it,
// 100 * (1 / cost_ratio - 1) + 0.1 * (accuracy - target), where cost_ratio is the policy's cost over the
// W8A8 policy's cost on the same chip. A policy no costlier than W8A8 is thus on target exactly when its
// reward is not negative.
double cimaq_reward(double accuracy_points, double reference_points, double max_drop_points, double cost_ratio);

// The accuracy-constrained variant's penalty for a policy whose cost ratio exceeds the budget (both as
// fractions of the W8A8 cost): -10 - 100 * (cost_ratio - budget), so it ranks below every policy within
// budget that loses less than 10 points (those are rewarded with their accuracy change in points).
double budget_penalty(double cost_ratio, double budget);

// Maps a continuous action in [0, 1] to an integer bit-width in [min_bits, max_bits], every width
// receiving an equal share of the interval (CIM-AQ and HAQ's mapping).
int action_to_bits(double action, int min_bits, int max_bits);

// The weight bits a search restricted to multiples of the cell resolution (CIM-AQ's
// consider_cell_resolution) may choose: the multiples of cell_bits in [min_bits, max_bits]; when there is
// none, the smallest multiple above max_bits alone.
std::vector<int> cell_bit_choices(int min_bits, int max_bits, int cell_bits);

// The same as action_to_bits for weights restricted to cell_bit_choices().
int action_to_cell_bits(double action, int min_bits, int max_bits, int cell_bits);

}  // namespace qxbar
