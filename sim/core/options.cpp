#include "sim/core/options.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "sim/core/registry.h"

namespace qxbar {
namespace {

// The shortest text that reads back as the same double, in fixed notation where that is short (0.0005,
// not 5e-04), as people write numbers in recipes.
std::string number_text(double value) { return fmt::format("{}", value); }

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

std::string number_list_text(const NumberList& list) {
  std::string text;
  for (double value : list.values) text += (text.empty() ? "" : ",") + number_text(value);
  return text;
}

std::optional<NumberList> parse_number_list(const std::string& text) {
  NumberList list;
  if (text.empty()) return list;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::size_t consumed = 0;
    double value = 0;
    try {
      value = std::stod(part, &consumed);
    } catch (const std::exception&) {
      return std::nullopt;
    }
    if (consumed != part.size() || !std::isfinite(value)) return std::nullopt;
    list.values.push_back(value);
    if (comma == std::string::npos) return list;
    start = comma + 1;
  }
}

bool Bounds::contains(double value) const {
  if (std::isnan(value)) return false;
  return (above_minimum ? value > minimum : value >= minimum) && value <= maximum;
}

std::string range_text(const Bounds& bounds) {
  const std::string low = std::isinf(bounds.minimum) ? "(-inf" : (bounds.above_minimum ? "(" : "[") + number_text(bounds.minimum);
  const std::string high = std::isinf(bounds.maximum) ? "inf)" : number_text(bounds.maximum) + "]";
  return low + ", " + high;
}

BoundOption& option_named(OptionSet& options, const std::string& key) {
  for (BoundOption& option : options) {
    if (key == option.key) return option;
  }
  throw std::logic_error("no option '" + key + "'");
}

std::string value_text(const BoundOption& option) {
  return std::visit(Overloaded{[](const double* value) { return number_text(*value); },
                               [](const bool* value) { return std::string(*value ? "true" : "false"); },
                               [](const std::string* value) { return *value; },
                               [](const NumberList* value) { return number_list_text(*value); },
                               [](const auto* value) { return std::to_string(*value); }},
                    option.target);
}

std::string violation(const BoundOption& option) {
  return std::visit(Overloaded{[&](const bool*) { return std::string(); },
                               [&](const std::string* value) {
                                 if (option.choices == nullptr) return std::string();
                                 const std::vector<std::string> names = option.choices();
                                 if (std::find(names.begin(), names.end(), *value) != names.end()) return std::string();
                                 return "unknown value '" + *value + "' (choose " + choices_text(names) + ")";
                               },
                               [&](const NumberList* list) {
                                 for (double number : list->values) {
                                   if (!option.bounds.contains(number)) {
                                     return "each must be in " + range_text(option.bounds) + ", got " + number_text(number);
                                   }
                                 }
                                 return std::string();
                               },
                               [&](const auto* value) {
                                 const double number = static_cast<double>(*value);
                                 if (option.bounds.contains(number)) return std::string();
                                 return "must be in " + range_text(option.bounds) + ", got " + value_text(option);
                               }},
                    option.target);
}

namespace {

// A YAML list of numbers, or one scalar: a number or the command line's "0.3,0.4,0.5".
NumberList number_list(const YAML::Node& node, const SourceLocation& where, const std::string& key) {
  if (node.IsSequence()) {
    NumberList list;
    for (const YAML::Node& item : node) list.values.push_back(scalar_real(item, location_of(item, where.origin), key));
    return list;
  }
  const std::optional<NumberList> list = parse_number_list(scalar_text(node, where, key));
  if (!list) throw ConfigError(located_message(where, key, "expected numbers separated by commas, got '" + node.Scalar() + "'"));
  return *list;
}

}  // namespace

void read_options(StrictMap& map, const OptionSet& options) {
  for (const BoundOption& option : options) {
    const YAML::Node node = map.take_optional(option.key);
    if (!node) continue;
    const SourceLocation where = location_of(node, map.file());
    const std::string key = map.key_path(option.key);
    // Integers are range-checked before they are narrowed, so 2^40 epochs is an error, not a wrapped count.
    const auto integer = [&](auto* target) {
      using Integer = std::remove_pointer_t<decltype(target)>;
      const std::int64_t value = scalar_integer(node, where, key);
      const bool fits = value >= 0 || std::is_signed_v<Integer>;
      if (!fits || value < static_cast<std::int64_t>(std::numeric_limits<Integer>::min()) ||
          static_cast<std::uint64_t>(value) > static_cast<std::uint64_t>(std::numeric_limits<Integer>::max()) ||
          !option.bounds.contains(static_cast<double>(value))) {
        throw ConfigError(located_message(where, key, "must be in " + range_text(option.bounds) + ", got " +
                                                          std::to_string(value)));
      }
      *target = static_cast<Integer>(value);
    };
    std::visit(Overloaded{[&](double* target) { *target = scalar_real(node, where, key); },
                          [&](bool* target) { *target = scalar_bool(node, where, key); },
                          [&](std::string* target) { *target = scalar_text(node, where, key); },
                          [&](NumberList* target) { *target = number_list(node, where, key); },
                          [&](auto* target) { integer(target); }},
               option.target);
    if (const std::string reason = violation(option); !reason.empty()) {
      throw ConfigError(located_message(where, key, reason));
    }
  }
}

void write_options(YAML::Emitter& out, const OptionSet& options) {
  for (const BoundOption& option : options) {
    out << YAML::Key << option.key << YAML::Value;
    std::visit(Overloaded{[&](const double*) { out << value_text(option); },
                          [&](const NumberList* list) {
                            out << YAML::Flow << YAML::BeginSeq;
                            for (double value : list->values) out << number_text(value);
                            out << YAML::EndSeq;
                          },
                          [&](const auto* value) { out << *value; }},
               option.target);
  }
}

nlohmann::json run_key_json(const OptionSet& options) {
  nlohmann::json values = nlohmann::json::object();
  for (const BoundOption& option : options) {
    if (!option.in_run_key) continue;
    std::visit(Overloaded{[&](const NumberList* list) { values[option.key] = list->values; },
                          [&](const auto* value) { values[option.key] = *value; }},
               option.target);
  }
  return values;
}

void check_values(const OptionSet& options, const std::string& origin) {
  for (const BoundOption& option : options) {
    if (const std::string reason = violation(option); !reason.empty()) {
      throw ConfigError(origin + ": " + option.key + ": " + reason);
    }
  }
}

void check_flags(const OptionSet& options) {
  for (const BoundOption& option : options) {
    if (const std::string reason = violation(option); !reason.empty()) {
      throw ConfigError(std::string("--") + option.flag + ": " + reason);
    }
  }
}

}  // namespace qxbar
