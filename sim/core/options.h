#pragma once

#include <nlohmann/json_fwd.hpp>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sim/core/yaml_reading.h"

namespace qxbar {

// Numbers an option takes several of, written "0.3,0.4,0.5" on a command line and as a YAML list (or that
// same text) in a recipe.
struct NumberList {
  std::vector<double> values;
  bool operator==(const NumberList& other) const { return values == other.values; }
};
std::string number_list_text(const NumberList& list);
// The numbers of "0.3,0.4,0.5"; nullopt when a part is not a finite number.
std::optional<NumberList> parse_number_list(const std::string& text);

// The range a number option must lie in.
struct Bounds {
  double minimum = -std::numeric_limits<double>::infinity();
  double maximum = std::numeric_limits<double>::infinity();
  bool above_minimum = false;  // the minimum itself is out of range
  bool contains(double value) const;
};

// "[1, inf)", "(0, 1]", as errors and --help print a range.
std::string range_text(const Bounds& bounds);

// An option of one group (the search's, the training's, DDPG's), as every front end sees it: its key in a
// recipe section, its command-line flag, what it means, the member that holds it and the values it may
// take. Its default is the member's initialiser, nowhere else. The command line, the recipe reader and
// writer, the validation, --help and the run keys all walk one table of these per group, so an option is
// added, renamed or re-ranged in one place.
template <class Group>
struct Option {
  using Field = std::variant<int Group::*, std::int64_t Group::*, std::uint64_t Group::*, double Group::*,
                             bool Group::*, std::string Group::*, NumberList Group::*>;
  const char* key;
  const char* flag;  // without "--"
  const char* meaning;
  Field field;
  Bounds bounds = {};  // of every number of a NumberList
  std::vector<std::string> (*choices)() = nullptr;  // a text must be one of these (a registry's names)
  bool in_run_key = true;  // false for options that cannot change a result (how often to checkpoint)
  std::string (*choice_help)() = nullptr;  // "name: meaning; ..." of a registry's entries, for --help
};

// An option bound to one object's member: what the generic readers, writers and checks work on.
struct BoundOption {
  using Target = std::variant<int*, std::int64_t*, std::uint64_t*, double*, bool*, std::string*, NumberList*>;
  const char* key;
  const char* flag;
  const char* meaning;
  Target target;
  Bounds bounds;
  std::vector<std::string> (*choices)();
  bool in_run_key;
  std::string (*choice_help)();
};
using OptionSet = std::vector<BoundOption>;

template <class Group>
OptionSet bind_options(const std::vector<Option<Group>>& table, Group& group) {
  OptionSet bound;
  for (const Option<Group>& option : table) {
    std::visit([&](auto field) {
      bound.push_back({option.key, option.flag, option.meaning, &(group.*field), option.bounds, option.choices,
                       option.in_run_key, option.choice_help});
    }, option.field);
  }
  return bound;
}

// The option called `key` in `options` (a programming error when there is none).
BoundOption& option_named(OptionSet& options, const std::string& key);

// The value as text: numbers in the shortest form that reads back exactly (0.99, not 0.98999999999999999).
std::string value_text(const BoundOption& option);

// Why `value` does not fit the option, or "" when it does.
std::string violation(const BoundOption& option);

// Reads every option present in `map`, checking types, ranges and choices; errors name the file, line,
// column and key path. Keys not taken are left for the caller's reject_unknown_keys().
void read_options(StrictMap& map, const OptionSet& options);

// Writes every option as a YAML key: value pair into the mapping being emitted.
void write_options(YAML::Emitter& out, const OptionSet& options);

// The options that shape results, as a JSON object for run fingerprints.
nlohmann::json run_key_json(const OptionSet& options);

// Checks values set in code: errors name `origin` and the key.
void check_values(const OptionSet& options, const std::string& origin);

// Checks values that did not come from a file (command-line flags): errors name the flag the user typed.
void check_flags(const OptionSet& options);

}  // namespace qxbar
