#pragma once

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "sim/core/errors.h"

namespace qxbar {

// "a, b or c"
inline std::string choices_text(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += i + 1 == names.size() ? " or " : ", ";
    text += names[i];
  }
  return text;
}

// A named choice among implementations (search algorithms, quantizers, ADC kinds, cost engines, cost
// metrics): one explicit table of entries, each with at least `name` and `help`. The names, the help
// text and the "choose one of" message all come from the table, so adding an implementation is one entry.
template <class Entry>
class Registry {
 public:
  // `what` names the kind of thing in messages: "search algorithm", "quantizer".
  Registry(std::string what, std::vector<Entry> entries) : what_(std::move(what)), entries_(std::move(entries)) {}

  const std::string& what() const { return what_; }
  const std::vector<Entry>& entries() const { return entries_; }

  const Entry* find(const std::string& name) const {
    const auto found = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return name == e.name; });
    return found == entries_.end() ? nullptr : &*found;
  }

  // The entry called `name`; an unknown name is a ConfigError naming the choices. Front ends check names
  // where they read them (with the file and line, or the flag), so this message only prefixes `where`.
  const Entry& at(const std::string& name, const std::string& where = "") const {
    if (const Entry* entry = find(name)) return *entry;
    throw ConfigError((where.empty() ? "" : where + ": ") + unknown(name));
  }

  std::vector<std::string> names() const {
    std::vector<std::string> names;
    for (const Entry& entry : entries_) names.emplace_back(entry.name);
    return names;
  }

  // "unknown quantizer 'x' (choose minmax, mse, pact or lsq)"
  std::string unknown(const std::string& name) const {
    return "unknown " + what_ + " '" + name + "' (choose " + choices_text(names()) + ")";
  }

  // "minmax: ...; mse: ..." for --help.
  std::string help() const {
    std::string text;
    for (const Entry& entry : entries_) text += (text.empty() ? "" : "; ") + std::string(entry.name) + ": " + entry.help;
    return text;
  }

 private:
  std::string what_;
  std::vector<Entry> entries_;
};

}  // namespace qxbar
