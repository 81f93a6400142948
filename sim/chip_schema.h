#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace qxbar {

enum class ValueType { Integer, Real, Boolean, Choice, Text };

// A default that depends on the value of another key (the device kind or the ADC kind): one literal per
// choice of the selector.
struct SelectedDefault {
  std::string_view selector;
  std::vector<std::pair<std::string, std::string>> by_choice;
};

// A default that copies the resolved value of another key, one listed earlier in the table.
struct CopiedDefault {
  std::string_view key;
};

// Whether a key's value enters the chip's fingerprint when it equals the key's default.
enum class Fingerprint {
  Always,
  // For keys added after chips were first fingerprinted, whose default is the behaviour every chip had
  // before the key existed: a chip described before then keeps its fingerprint, and with it its cached
  // costs, search runs and sweep databases. Such a default must never change.
  UnlessDefault,
};

// One key of a chip description. The table of these is the single place that knows each key's type,
// unit, range and default: the parser, --set, `qxbar check-hw` and the documentation all read it.
struct ChipKey {
  std::string_view key;  // dotted path, e.g. "crossbar.rows"
  ValueType type;
  std::string_view unit;
  std::variant<std::string_view, SelectedDefault, CopiedDefault> default_value;  // literals are parsed like YAML values
  double min = 0.0;  // inclusive bounds for Integer and Real
  double max = 0.0;
  std::vector<std::string> choices;  // for Choice
  std::string description;
  Fingerprint fingerprint = Fingerprint::Always;
};

const std::vector<ChipKey>& chip_keys();

// nullptr when the key does not exist.
const ChipKey* find_chip_key(std::string_view dotted_key);

// True when some key starts with "prefix.", i.e. the prefix names a group such as "adc".
bool is_chip_key_group(std::string_view prefix);

// The known key closest to a misspelled one, for "did you mean" hints; empty when nothing is close.
std::string closest_chip_key(std::string_view dotted_key);

// A Markdown table of every key (key, type, unit, default, range, meaning): hw_configs/README.md embeds it.
std::string chip_keys_markdown();

}  // namespace qxbar
