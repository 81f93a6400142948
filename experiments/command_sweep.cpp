#include <cstdio>

#include "experiments/cli.h"
#include "experiments/sweep_run.h"
#include "sim/core/atomic_file.h"

namespace qxbar::cli {
namespace {

// "K/N": this process is shard K (from 0) of N.
void parse_shard(const std::string& text, SweepOptions& options) {
  const std::size_t slash = text.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument(text);
    std::size_t used = 0;
    options.shard = std::stoul(text.substr(0, slash), &used);
    if (used != slash) throw std::invalid_argument(text);
    options.shards = std::stoul(text.substr(slash + 1), &used);
    if (used != text.size() - slash - 1) throw std::invalid_argument(text);
  } catch (const std::logic_error&) {
    throw ConfigError("--shard " + text + ": expected K/N, e.g. 0/4");
  }
}

}  // namespace

int run_sweep(const std::vector<std::string>& args) {
  std::string sweep_path;
  std::string csv_path;
  std::string shard;
  std::vector<std::string> merge;
  SweepOptions sweep_options;
  CacheOptions cache;
  ThreadOptions threads;
  po::options_description options("sweep options");
  options.add_options()
      ("sweep", po::value(&sweep_path)->required(), "sweep file (positional), e.g. experiments/sweeps/crossbar_cells_adc.yaml")
      ("db", po::value(&sweep_options.database)->required(), "SQLite database of the points (created or resumed)")
      ("resume", po::bool_switch(&sweep_options.resume), "price only the points the database does not hold yet")
      ("shard", po::value(&shard), "K/N: price only shard K (from 0) of N, e.g. one task of a Slurm job array")
      ("merge", po::value(&merge)->multitoken(), "add the points of these databases (the shards) to --db instead of pricing")
      ("csv", po::value(&csv_path), "also export the database's points as CSV");
  cache.add_to(options);
  threads.add_to(options);
  po::positional_options_description positional;
  positional.add("sweep", 1);
  po::variables_map values;
  if (!parse_command_line("sweep", args, options, values, positional)) return 0;
  if (!shard.empty()) parse_shard(shard, sweep_options);
  if (!cache.disabled) sweep_options.cost_cache = cache.path;
  threads.apply();

  const std::unique_ptr<SweepTeam> team = join_sweep_team();
  if (!merge.empty()) {
    if (team->size() > 1) throw ConfigError("--merge: run it as one process, not under an MPI launcher");
    const std::size_t added = merge_sweeps(load_sweep(sweep_path), sweep_options.database, merge);
    std::printf("%s: %zu points added from %zu databases\n", sweep_options.database.c_str(), added, merge.size());
  } else {
    SweepOutcome outcome;
    if (const int code = run_as_team_member(*team, [&] { outcome = qxbar::run_sweep(sweep_path, sweep_options, *team); }); code != 0) {
      return code;
    }
    if (team->rank() != 0) return 0;
    std::printf("%s: %zu points, %zu priced and %zu invalid by %zu process%s, %zu stored before\n",
                sweep_options.database.c_str(), outcome.points, outcome.priced, outcome.invalid, team->size(),
                team->size() == 1 ? "" : "es", outcome.skipped);
    if (outcome.evaluated) std::printf("%zu accuracies evaluated on the chips\n", *outcome.evaluated);
    if (outcome.seconds > 0) {
      std::printf("pricing took %.2f s: %.2f points/s\n", outcome.seconds,
                  static_cast<double>(outcome.priced + outcome.invalid) / outcome.seconds);
    }
  }
  if (!csv_path.empty()) write_file_atomically(csv_path, sweep_csv(read_sweep(sweep_options.database)));
  return 0;
}

}  // namespace qxbar::cli
