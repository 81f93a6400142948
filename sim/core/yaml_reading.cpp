#include "sim/core/yaml_reading.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <vector>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include "sim/core/atomic_file.h"

namespace qxbar {
namespace {

// Where each of the first two documents of `text` starts. yaml-cpp 0.7's LoadAll never ends on some
// malformed streams (a stray ',' yields an empty document again and again without being consumed, growing
// memory until the process is killed), so documents are counted here and no more than two are read.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

std::vector<YAML::Mark> document_starts(const std::string& text) {
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentStarts handler;
  while (handler.starts.size() < 2 && parser.HandleNextDocument(handler)) {
  }
  return handler.starts;
}

ConfigError error_at(const YAML::Node& node, const std::string& file, const std::string& key,
                     const std::string& reason) {
  return ConfigError(located_message(location_of(node, file), key, reason));
}

void require_scalar(const YAML::Node& node, const SourceLocation& where, const std::string& key,
                    const char* expected) {
  if (!node.IsScalar()) throw ConfigError(located_message(where, key, std::string("expected ") + expected));
}

// yaml-cpp keeps every entry of a mapping, and lookups find the first: a repeated key would silently lose
// one of its values, so it is an error wherever it appears.
void check_unique_keys(const YAML::Node& node, const std::string& file) {
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) check_unique_keys(item, file);
  }
  if (!node.IsMap()) return;
  std::map<std::string, YAML::Node> seen;
  for (const auto& entry : node) {
    if (entry.first.IsScalar()) {
      const auto [first, inserted] = seen.emplace(entry.first.Scalar(), entry.first);
      if (!inserted) {
        throw ConfigError(located_message(location_of(entry.first, file), entry.first.Scalar(),
                                          "repeated key (first at line " +
                                              std::to_string(location_of(first->second, file).line) + ")"));
      }
    }
    check_unique_keys(entry.second, file);
  }
}

}  // namespace

SourceLocation location_of(const YAML::Node& node, const std::string& file) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return {file, 0, 0};
  return {file, mark.line + 1, mark.column + 1};
}

YAML::Node load_yaml_file(const std::string& path) {
  std::ifstream stream(path);
  if (!stream) throw ConfigError(path + ": cannot open file");
  if (std::filesystem::is_directory(path)) throw ConfigError(path + ": is a folder, not a file");
  note_input_file(path);
  std::ostringstream text;
  text << stream.rdbuf();
  std::vector<YAML::Mark> starts;
  YAML::Node first;
  try {
    starts = document_starts(text.str());
    first = YAML::Load(text.str());
  } catch (const YAML::ParserException& e) {
    throw ConfigError(located_message({path, e.mark.line + 1, e.mark.column + 1}, "",
                                      "malformed YAML: " + e.msg));
  }
  if (starts.size() > 1) {
    const YAML::Mark& second = starts[1];
    const bool stuck = second.pos == starts[0].pos;
    throw ConfigError(located_message({path, second.line + 1, second.column + 1}, "",
                                      stuck ? "malformed YAML: nothing can be read from here"
                                            : "a second YAML document; a file holds one"));
  }
  if (starts.empty()) return YAML::Node();
  check_unique_keys(first, path);
  return first;
}

YAML::Node load_yaml_text(const std::string& text, const std::string& origin) {
  YAML::Node node;
  try {
    node = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(origin + ": malformed YAML value: " + e.msg);
  }
  check_unique_keys(node, origin);
  return node;
}

std::int64_t scalar_integer(const YAML::Node& node, const SourceLocation& where, const std::string& key) {
  require_scalar(node, where, key, "an integer");
  const std::string& text = node.Scalar();
  std::int64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, status] = std::from_chars(text.data(), end, value);
  if (status != std::errc() || stop != end) {
    throw ConfigError(located_message(where, key, "expected an integer, got '" + text + "'"));
  }
  return value;
}

double scalar_real(const YAML::Node& node, const SourceLocation& where, const std::string& key) {
  require_scalar(node, where, key, "a number");
  const std::string& text = node.Scalar();
  std::size_t consumed = 0;
  double value = 0.0;
  try {
    value = std::stod(text, &consumed);
  } catch (const std::exception&) {
    consumed = 0;
  }
  if (consumed != text.size() || text.empty() || !std::isfinite(value)) {
    throw ConfigError(located_message(where, key, "expected a number, got '" + text + "'"));
  }
  return value;
}

bool scalar_bool(const YAML::Node& node, const SourceLocation& where, const std::string& key) {
  require_scalar(node, where, key, "true or false");
  const std::string& text = node.Scalar();
  if (text == "true") return true;
  if (text == "false") return false;
  throw ConfigError(located_message(where, key, "expected true or false, got '" + text + "'"));
}

std::string scalar_text(const YAML::Node& node, const SourceLocation& where, const std::string& key) {
  require_scalar(node, where, key, "a string");
  return node.Scalar();
}

StrictMap::StrictMap(const YAML::Node& node, std::string file, std::string key_path)
    : node_(node), file_(std::move(file)), key_path_(std::move(key_path)) {
  if (!node_.IsMap()) {
    throw error_at(node_, file_, key_path_.empty() ? "(document)" : key_path_, "expected a mapping");
  }
}

bool StrictMap::has(const std::string& key) const { return static_cast<bool>(node_[key]); }

std::string StrictMap::key_path(const std::string& key) const {
  return key_path_.empty() ? key : key_path_ + "." + key;
}

YAML::Node StrictMap::take(const std::string& key) {
  YAML::Node value = take_optional(key);
  if (!value) throw error_at(node_, file_, key_path(key), "required key is missing");
  return value;
}

YAML::Node StrictMap::take_optional(const std::string& key) {
  taken_.insert(key);
  const YAML::Node& constant = node_;
  return constant[key];
}

void StrictMap::reject_unknown_keys() const {
  for (const auto& entry : node_) {
    const std::string key = entry.first.Scalar();
    if (taken_.count(key) == 0) throw error_at(entry.first, file_, key_path(key), "unknown key");
  }
}

}  // namespace qxbar
