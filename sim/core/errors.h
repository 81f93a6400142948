#pragma once

#include <stdexcept>
#include <string>

namespace qxbar {

// Errors caused by what the user gave us (a file, a flag, a policy). Only the CLI turns them into exit
// codes; library code throws and lets the caller decide, so one bad candidate cannot end a long search.
class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A configuration (chip description, recipe, --set override) is malformed or out of range.
class ConfigError : public UserError {
 public:
  using UserError::UserError;
};

// An input data file (policy, workload, dataset, .npy) is missing, truncated or inconsistent.
class DataError : public UserError {
 public:
  using UserError::UserError;
};

// Training under the options given produced a non-finite loss. A search records it as the candidate's
// status; a training command reports it.
class DivergedError : public UserError {
 public:
  using UserError::UserError;
};

// Where a value came from, so an error can point at it: "file:line:column" or "--set key=value".
struct SourceLocation {
  std::string origin;
  int line = 0;    // 1-based; 0 when the origin has no lines (a command-line override)
  int column = 0;  // 1-based

  std::string describe() const {
    if (line <= 0) return origin;
    return origin + ":" + std::to_string(line) + ":" + std::to_string(column);
  }
};

// The one format every located error uses: "<where>: <dotted.key>: <reason>".
inline std::string located_message(const SourceLocation& where, const std::string& key,
                                   const std::string& reason) {
  std::string message = where.describe() + ": ";
  if (!key.empty()) message += key + ": ";
  return message + reason;
}

}  // namespace qxbar
