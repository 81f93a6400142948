#include <cstdio>

#include "experiments/cli.h"
#include "experiments/sweep.h"
#include "sim/atomic_file.h"

namespace qxbar::cli {

int run_sweep(const std::vector<std::string>& args) {
  std::string sweep_path;
  std::string csv_path;
  SweepOptions sweep_options;
  po::options_description options("sweep options");
  options.add_options()
      ("sweep", po::value(&sweep_path)->required(), "sweep file (positional), e.g. experiments/sweeps/crossbar.yaml")
      ("db", po::value(&sweep_options.database)->required(), "SQLite database of the points (created or resumed)")
      ("resume", po::bool_switch(&sweep_options.resume), "price only the points the database does not hold yet")
      ("csv", po::value(&csv_path), "also export the database's points as CSV");
  po::positional_options_description positional;
  positional.add("sweep", 1);
  po::variables_map values;
  if (!parse_command_line("sweep", args, options, values, positional)) return 0;
  const SweepPlan plan = load_sweep(sweep_path);
  const SweepOutcome outcome = qxbar::run_sweep(plan, sweep_options);
  std::printf("%s: %zu points, %zu priced, %zu invalid, %zu stored before\n", sweep_options.database.c_str(), outcome.points,
              outcome.priced, outcome.invalid, outcome.skipped);
  if (!csv_path.empty()) write_file_atomically(csv_path, sweep_csv(sweep_options.database));
  return 0;
}

}  // namespace qxbar::cli
