#pragma once

#include <boost/program_options.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/data.h"
#include "sim/chip_spec.h"
#include "sim/cost_cache.h"

namespace qxbar::cli {

namespace po = boost::program_options;

// A subcommand gets its own arguments (after the command name) and returns the process exit code; user
// errors are thrown as qxbar::UserError and mapped to exit code 2 by run().
struct Command {
  const char* name;
  const char* summary;
  std::function<int(const std::vector<std::string>& args)> run;
};

int run(int argc, char** argv);

// Parses a subcommand's arguments; returns false when --help was asked for and printed.
bool parse_command_line(const std::string& command, const std::vector<std::string>& args,
                        const po::options_description& options, po::variables_map& values,
                        const po::positional_options_description& positional = {});

// --hw and --set, shared by every command that reads a chip.
struct ChipOptions {
  std::string hw;
  std::vector<std::string> overrides;
  void add_to(po::options_description& options);
  ChipSpec load() const;
};

// --cache and --no-cache, shared by every command that prices layers.
struct CacheOptions {
  std::string path;
  bool disabled = false;
  void add_to(po::options_description& options);
  std::shared_ptr<CostCache> open() const;  // nullptr when disabled
};

// --data, --data-dir, --train-size, --val-size and --threads, shared by every command that reads a dataset.
struct DataCommandOptions {
  std::string data;
  std::string data_dir;
  std::int64_t train_size = 0;
  std::int64_t val_size = 0;
  int threads = 0;
  void add_to(po::options_description& options, const std::string& default_data, std::int64_t default_train_size = 0,
              std::int64_t default_val_size = 0);
  DataSplits load(std::uint64_t seed) const;  // also sets LibTorch's thread count
  DataOptions options() const;                // the same, loaded later; also sets the thread count
};

int run_sim(const std::vector<std::string>& args);
int run_check_hw(const std::vector<std::string>& args);
int run_train(const std::vector<std::string>& args);
int run_eval(const std::vector<std::string>& args);
int run_workload(const std::vector<std::string>& args);
int run_search(const std::vector<std::string>& args);
int run_plot(const std::vector<std::string>& args);
int run_run(const std::vector<std::string>& args);
int run_sweep(const std::vector<std::string>& args);

}  // namespace qxbar::cli
