#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <set>
#include <string>

#include "sim/core/errors.h"

namespace qxbar {

// Parses a YAML file; a missing file or a syntax error becomes a ConfigError at file:line:column.
YAML::Node load_yaml_file(const std::string& path);

// Parses YAML text that did not come from a file (e.g. the value of a --set override).
YAML::Node load_yaml_text(const std::string& text, const std::string& origin);

SourceLocation location_of(const YAML::Node& node, const std::string& file);

// Scalar conversions shared by every strict reader, so "expected an integer" reads the same everywhere.
// `where` is the node's place in its file, or the command-line override it came from.
std::int64_t scalar_integer(const YAML::Node& node, const SourceLocation& where, const std::string& key);
double scalar_real(const YAML::Node& node, const SourceLocation& where, const std::string& key);
bool scalar_bool(const YAML::Node& node, const SourceLocation& where, const std::string& key);
std::string scalar_text(const YAML::Node& node, const SourceLocation& where, const std::string& key);

// A YAML mapping read key by key; keys nobody asked for are errors, so a misspelling never turns into a
// silent default.
class StrictMap {
 public:
  StrictMap(const YAML::Node& node, std::string file, std::string key_path);

  bool has(const std::string& key) const;
  YAML::Node take(const std::string& key);  // throws if the key is missing
  YAML::Node take_optional(const std::string& key);  // a null node if the key is missing
  std::string key_path(const std::string& key) const;
  const std::string& file() const { return file_; }

  // Call after all takes: rejects every key that was not taken.
  void reject_unknown_keys() const;

 private:
  YAML::Node node_;
  std::string file_;
  std::string key_path_;
  std::set<std::string> taken_;
};

}  // namespace qxbar
