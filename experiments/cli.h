#pragma once

#include <boost/program_options.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nn/data.h"
#include "sim/core/options.h"
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

// Registers every option of a table as a flag, its default the value it holds now; call check_flags() on
// the same set after parsing.
void add_options(po::options_description& options, const OptionSet& set);

// The intra-op threads of LibTorch (--threads), shared by every command that trains or evaluates.
struct ThreadOptions {
  int threads = default_threads();
  static int default_threads();  // all cores
  void add_to(po::options_description& options);
  void apply() const;  // sets LibTorch's thread count
};

// The data table's flags (--data, --data-dir, --train-size, --val-size) and --threads, shared by every
// command that reads a dataset; `with_sizes` false leaves the sizes to the command's own options.
struct DataCommandOptions {
  DataOptions data;
  ThreadOptions threads;
  void add_to(po::options_description& options, bool with_sizes = true);
  DataSplits load(std::uint64_t seed);  // also sets LibTorch's thread count
  void check_and_apply();               // checks the flags and sets the thread count, for data loaded later

 private:
  OptionSet flags_;
};

int run_sim(const std::vector<std::string>& args);
int run_check_hw(const std::vector<std::string>& args);
int run_train(const std::vector<std::string>& args);
int run_eval(const std::vector<std::string>& args);
int run_workload(const std::vector<std::string>& args);
int run_search(const std::vector<std::string>& args);
int run_plot(const std::vector<std::string>& args);
int run_run(const std::vector<std::string>& args);
int run_compare(const std::vector<std::string>& args);
int run_codesign(const std::vector<std::string>& args);
int run_sweep(const std::vector<std::string>& args);

}  // namespace qxbar::cli
