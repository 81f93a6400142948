#include "experiments/cli.h"

#include <c10/util/Exception.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <iostream>
#include <thread>
#include <type_traits>
#include <variant>

#include "sim/core/errors.h"
#include "sim/core/progress.h"
#include "sim/core/registry.h"

namespace qxbar {

// Boost.Program_options finds this by argument-dependent lookup: how a flag's text becomes a NumberList.
void validate(boost::any& value, const std::vector<std::string>& texts, NumberList*, int) {
  namespace po = boost::program_options;
  po::validators::check_first_occurrence(value);
  const std::string& text = po::validators::get_single_string(texts);
  const std::optional<NumberList> list = parse_number_list(text);
  if (!list) throw po::invalid_option_value(text);
  value = *list;
}

}  // namespace qxbar

namespace qxbar::cli {
namespace {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"run", "run a recipe: FP32 and INT8 training, policy search, fine-tuning, evaluation, report; resumable", run_run},
      {"compare", "run a recipe's search with several algorithms from one INT8 checkpoint, side by side; resumable",
       run_compare},
      {"codesign", "search chip and policy together: LIMPQ's policy for every chip of a grid and budget, the Pareto "
                   "set, the cheapest candidates measured; resumable, MPI-parallel",
       run_codesign},
      {"sweep", "price networks and policies over a grid of chip parameters into SQLite; resumable", run_sweep},
      {"sim", "price a network on a chip: per-layer latency and energy, or a full lookup table", run_sim},
      {"check-hw", "validate a chip description and print every resolved value with its unit", run_check_hw},
      {"train", "train a network, float or quantization-aware under a policy; resumable", run_train},
      {"eval", "test accuracy of a checkpoint, optionally under another policy", run_eval},
      {"workload", "write a network's traced layer shapes in CIM-AQ's layer-dimension format", run_workload},
      {"search", "search a per-layer policy against a chip with a registered algorithm (--algo); resumable", run_search},
      {"plot", "figures of search runs: Pareto fronts, per-layer bits, progress (PNG/SVG/PDF + .dat/.gp)", run_plot},
  };
  return table;
}

void print_usage(std::ostream& out) {
  out << "usage: qxbar [-v | -q] <command> [options]\n\n"
         "Hardware-in-the-loop mixed-precision quantization for compute-in-memory chips.\n\ncommands:\n";
  for (const Command& command : commands()) {
    out << "  " << command.name << std::string(12 - std::string(command.name).size(), ' ') << command.summary
        << "\n";
  }
  out << "\nglobal options:\n  -v, --verbose   more log output\n  -q, --quiet     warnings and errors only\n"
         "  -h, --help      this text; `qxbar <command> --help` describes a command\n";
}

void configure_logging(spdlog::level::level_enum level) {
  auto logger = spdlog::stderr_color_mt("qxbar");
  logger->set_pattern("%^[%l]%$ %v");
  logger->set_level(level);
  spdlog::set_default_logger(logger);
}

}  // namespace

bool parse_command_line(const std::string& command, const std::vector<std::string>& args,
                        const po::options_description& options, po::variables_map& values,
                        const po::positional_options_description& positional) {
  po::options_description all = options;
  all.add_options()("help,h", "describe this command's options");
  po::store(po::command_line_parser(args).options(all).positional(positional).run(), values);
  if (values.count("help") != 0) {
    std::cout << "usage: qxbar " << command << " [options]\n\n" << all << "\n";
    return false;
  }
  po::notify(values);
  return true;
}

void ChipOptions::add_to(po::options_description& options) {
  options.add_options()
      ("hw", po::value(&hw)->default_value("cimaq_default"),
       "chip description: a YAML file, or the name of a preset in hw_configs/")
      ("set", po::value(&overrides)->composing(),
       "override one chip key, e.g. --set crossbar.cell_bits=2 (repeatable; validated like the file)");
}

ChipSpec ChipOptions::load() const { return load_chip(hw, overrides); }

void CacheOptions::add_to(po::options_description& options) {
  options.add_options()
      ("cache", po::value(&path)->default_value(CostCache::default_path()),
       "SQLite file of priced layers, shared between runs and processes")
      ("no-cache", po::bool_switch(&disabled), "price every layer afresh and store nothing");
}

std::shared_ptr<CostCache> CacheOptions::open() const {
  if (disabled) return nullptr;
  return std::make_shared<CostCache>(path);
}

void add_options(po::options_description& options, const OptionSet& set) {
  for (const BoundOption& option : set) {
    std::string meaning = option.meaning;
    if (option.choice_help != nullptr) {
      meaning += " (" + option.choice_help() + ")";
    } else if (option.choices != nullptr) {
      meaning += " (" + choices_text(option.choices()) + ")";
    }
    const std::string shown = value_text(option);
    std::visit([&](auto* target) {
      using Value = std::remove_pointer_t<decltype(target)>;
      if constexpr (std::is_same_v<Value, bool>) {
        if (!*target) {
          options.add_options()(option.flag, po::bool_switch(target), meaning.c_str());
          return;
        }
      }
      options.add_options()(option.flag, po::value(target)->default_value(*target, shown), meaning.c_str());
    }, option.target);
  }
}

int ThreadOptions::default_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

void ThreadOptions::add_to(po::options_description& options) {
  options.add_options()("threads", po::value(&threads)->default_value(threads),
                        "intra-op threads for LibTorch, 1 to 1024 (default: all cores)");
}

void ThreadOptions::apply() const {
  // Every thread is started at once: far more than any machine has cores would only exhaust its memory.
  constexpr int kMaxThreads = 1024;
  if (threads < 1 || threads > kMaxThreads) {
    throw ConfigError("--threads " + std::to_string(threads) + ": must be in [1, " + std::to_string(kMaxThreads) + "]");
  }
  torch::set_num_threads(threads);
}

void DataCommandOptions::add_to(po::options_description& options, bool with_sizes) {
  flags_ = data_options(data);
  if (!with_sizes) {
    flags_.erase(std::remove_if(flags_.begin(), flags_.end(),
                                [](const BoundOption& option) {
                                  return std::string(option.key) == "train_size" || std::string(option.key) == "val_size";
                                }),
                 flags_.end());
  }
  add_options(options, flags_);
  threads.add_to(options);
}

void DataCommandOptions::check_and_apply() {
  check_flags(flags_);
  threads.apply();
}

DataSplits DataCommandOptions::load(std::uint64_t seed) {
  check_and_apply();
  DataOptions chosen = data;
  chosen.seed = seed;
  return load_data(chosen);
}


int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  spdlog::level::level_enum level = spdlog::level::info;
  std::size_t next = 0;
  for (; next < args.size() && !args[next].empty() && args[next][0] == '-'; ++next) {
    const std::string& flag = args[next];
    if (flag == "-v" || flag == "--verbose") {
      level = spdlog::level::debug;
    } else if (flag == "-q" || flag == "--quiet") {
      level = spdlog::level::warn;
      Progress::silence();
    } else if (flag == "-h" || flag == "--help") {
      print_usage(std::cout);
      return 0;
    } else {
      std::cerr << "qxbar: error: unknown global option " << flag << " (see qxbar --help)\n";
      return 2;
    }
  }
  configure_logging(level);
  if (next == args.size()) {
    print_usage(std::cerr);
    return 2;
  }
  const std::string name = args[next];
  const std::vector<std::string> command_args(args.begin() + static_cast<std::ptrdiff_t>(next) + 1, args.end());
  for (const Command& command : commands()) {
    if (name != command.name) continue;
    try {
      return command.run(command_args);
    } catch (const UserError& error) {
      std::cerr << "qxbar: error: " << error.what() << "\n";
      return 2;
    } catch (const po::error& error) {
      std::cerr << "qxbar " << name << ": error: " << error.what() << " (see qxbar " << name << " --help)\n";
      return 2;
    } catch (const c10::Error& error) {
      std::cerr << "qxbar: internal error: " << error.what_without_backtrace() << "\n";
      return 1;
    } catch (const std::exception& error) {
      std::cerr << "qxbar: internal error: " << error.what() << "\n";
      return 1;
    }
  }
  std::cerr << "qxbar: error: unknown command '" << name << "' (see qxbar --help)\n";
  return 2;
}

}  // namespace qxbar::cli

