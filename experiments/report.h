#pragma once

#include <string>

#include "experiments/workflow.h"
#include "sim/cost_engine.h"

namespace qxbar {

// The run's figures (figures/: Pareto fronts, bits, progress from the search store; latency and energy per
// layer of the chosen policy, as the search store holds them) and report.md; returns the report's path.
std::string write_report(const Recipe& recipe, const std::string& recipe_path, const RunSummary& summary,
                         const ChipSpec& chip, const Workload& workload, const Policy& policy,
                         const std::string& search_directory, const std::string& run_directory);

}  // namespace qxbar
