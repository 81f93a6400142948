#include "sim/chip_spec.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "sim/chip_schema.h"
#include "sim/core/fingerprint.h"
#include "sim/core/yaml_reading.h"

namespace qxbar {
namespace {

std::string format_number(double value) {
  std::ostringstream out;
  out.precision(12);
  out << value;
  return out.str();
}

std::string range_text(const ChipKey& key) {
  if (key.type == ValueType::Integer) {
    return std::to_string(static_cast<std::int64_t>(key.min)) + " to " +
           std::to_string(static_cast<std::int64_t>(key.max));
  }
  return format_number(key.min) + " to " + format_number(key.max);
}

SettingValue parse_value(const ChipKey& key, const YAML::Node& node, const SourceLocation& where) {
  const std::string name(key.key);
  const auto out_of_range = [&] {
    return ConfigError(located_message(where, name, "must be " + range_text(key) + ", got " + node.Scalar()));
  };
  switch (key.type) {
    case ValueType::Integer: {
      const std::int64_t value = scalar_integer(node, where, name);
      if (value < key.min || value > key.max) throw out_of_range();
      return value;
    }
    case ValueType::Real: {
      const double value = scalar_real(node, where, name);
      if (value < key.min || value > key.max) throw out_of_range();
      return value;
    }
    case ValueType::Boolean:
      return scalar_bool(node, where, name);
    case ValueType::Choice: {
      const std::string value = scalar_text(node, where, name);
      for (std::string_view choice : key.choices) {
        if (choice == value) return value;
      }
      std::string allowed;
      for (std::string_view choice : key.choices) allowed += (allowed.empty() ? "" : ", ") + std::string(choice);
      throw ConfigError(located_message(where, name, "must be one of " + allowed + ", got '" + value + "'"));
    }
    case ValueType::Text:
      return scalar_text(node, where, name);
  }
  throw std::logic_error("unhandled value type");
}

std::string unknown_key_reason(const std::string& dotted) {
  const std::string suggestion = closest_chip_key(dotted);
  return suggestion.empty() ? "unknown key" : "unknown key (did you mean " + suggestion + "?)";
}

template <typename Settings>
void collect_settings(const YAML::Node& node, const std::string& prefix, const std::string& file,
                      Settings& settings) {
  if (!node.IsMap()) {
    throw ConfigError(located_message(location_of(node, file), prefix.empty() ? "(document)" : prefix,
                                      "expected a mapping of keys"));
  }
  for (const auto& entry : node) {
    const std::string dotted = prefix.empty() ? entry.first.Scalar() : prefix + "." + entry.first.Scalar();
    if (const ChipKey* key = find_chip_key(dotted)) {
      const SourceLocation where = location_of(entry.second, file);
      settings[dotted] = {parse_value(*key, entry.second, where), where};
    } else if (is_chip_key_group(dotted)) {
      collect_settings(entry.second, dotted, file, settings);
    } else {
      throw ConfigError(located_message(location_of(entry.first, file), dotted, unknown_key_reason(dotted)));
    }
  }
}

template <typename T>
T get(const std::map<std::string, SettingValue>& values, const char* key) {
  return std::get<T>(values.at(key));
}

int get_int(const std::map<std::string, SettingValue>& values, const char* key) {
  return static_cast<int>(get<std::int64_t>(values, key));
}

template <typename Enum, std::size_t N>
Enum get_choice(const std::map<std::string, SettingValue>& values, const char* key,
                const std::pair<const char*, Enum> (&table)[N]) {
  const std::string& text = get<std::string>(values, key);
  for (const auto& [name, value] : table) {
    if (text == name) return value;
  }
  throw std::logic_error(std::string("choice not in enum table: ") + key);
}

constexpr std::pair<const char*, Device> kDevices[] = {
    {"rram", Device::Rram}, {"sram", Device::Sram}, {"pcm", Device::Pcm}, {"fefet", Device::Fefet}};
constexpr std::pair<const char*, SignedMapping> kMappings[] = {
    {"offset", SignedMapping::Offset},
    {"differential-column", SignedMapping::DifferentialColumn},
    {"differential-row", SignedMapping::DifferentialRow}};
constexpr std::pair<const char*, AdcRange> kAdcRanges[] = {
    {"full", AdcRange::Full}, {"calibrated", AdcRange::Calibrated}, {"dynamic", AdcRange::Dynamic}};
constexpr std::pair<const char*, InterconnectKind> kInterconnects[] = {{"bus", InterconnectKind::Bus},
                                                                      {"mesh", InterconnectKind::Mesh}};
constexpr std::pair<const char*, WeightResidency> kResidencies[] = {
    {"stationary", WeightResidency::Stationary}, {"reprogram", WeightResidency::Reprogram}};
constexpr std::pair<const char*, DataMovement> kDataMovements[] = {{"timed", DataMovement::Timed},
                                                                  {"hidden", DataMovement::Hidden}};
constexpr std::pair<const char*, WriteGranularity> kGranularities[] = {{"row", WriteGranularity::Row},
                                                                      {"crossbar", WriteGranularity::Crossbar}};

template <typename Enum, std::size_t N>
const char* choice_name(Enum value, const std::pair<const char*, Enum> (&table)[N]) {
  for (const auto& [name, entry] : table) {
    if (entry == value) return name;
  }
  return "?";
}

}  // namespace

std::string setting_text(const SettingValue& value) {
  struct {
    std::string operator()(std::int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const { return format_number(v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const std::string& v) const { return v; }
  } visitor;
  return std::visit(visitor, value);
}

const ResolvedSetting& ChipSpec::setting(const std::string& key) const {
  for (const ResolvedSetting& candidate : settings) {
    if (candidate.key == key) return candidate;
  }
  throw std::out_of_range("no chip key " + key);
}

std::int64_t ChipSpec::crossbars_on_chip() const {
  return static_cast<std::int64_t>(hierarchy.tiles) * hierarchy.pes_per_tile * hierarchy.crossbars_per_pe;
}

int ChipSpec::adcs_per_crossbar() const {
  return (crossbar.cols + adc.columns_per_adc - 1) / adc.columns_per_adc;
}

double ChipSpec::adc_conversion_ns() const { return adc.model->conversion_cycles(adc.bits) * cycle_ns(); }

double ChipSpec::adc_conversion_energy_pj() const {
  return adc.energy_per_step_fj * std::ldexp(1.0, adc.bits) / 1000.0;
}

double ChipSpec::crossbar_write_ns(std::int64_t rows_used) const {
  if (weights.write_granularity == WriteGranularity::Crossbar) return weights.crossbar_write_time_ns;
  return static_cast<double>(rows_used) * weights.row_write_time_ns;
}

ChipDescription ChipDescription::from_file(const std::string& path) {
  ChipDescription description;
  collect_settings(load_yaml_file(path), "", path, description.settings_);
  return description;
}

void ChipDescription::apply_override(const std::string& assignment) {
  const std::string origin = "--set " + assignment;
  const std::size_t equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw ConfigError(origin + ": expected dotted.key=value");
  }
  const std::string dotted = assignment.substr(0, equals);
  const ChipKey* key = find_chip_key(dotted);
  if (key == nullptr) throw ConfigError(located_message({origin}, dotted, unknown_key_reason(dotted)));
  const YAML::Node node = load_yaml_text(assignment.substr(equals + 1), origin);
  settings_[dotted] = {parse_value(*key, node, {origin}), {origin}};
}

ChipSpec ChipDescription::resolve() const {
  std::map<std::string, SettingValue> values;
  // Keys are resolved in table order, so a default may depend on keys listed before it.
  const auto default_of = [&values](const ChipKey& key) -> SettingValue {
    if (const auto* copied = std::get_if<CopiedDefault>(&key.default_value)) return values.at(std::string(copied->key));
    std::string_view literal;
    if (const auto* fixed = std::get_if<std::string_view>(&key.default_value)) {
      literal = *fixed;
    } else {
      const auto& selected = std::get<SelectedDefault>(key.default_value);
      const std::string& choice = std::get<std::string>(values.at(std::string(selected.selector)));
      for (const auto& [option, value] : selected.by_choice) {
        if (option == choice) literal = value;
      }
    }
    return parse_value(key, load_yaml_text(std::string(literal), "default"), {"default"});
  };
  ChipSpec spec;
  for (const ChipKey& key : chip_keys()) {
    const std::string name(key.key);
    std::string source = "default";
    if (const auto found = settings_.find(name); found != settings_.end()) {
      values[name] = found->second.value;
      source = found->second.where.describe();
    } else {
      values[name] = default_of(key);
    }
    spec.settings.push_back({name, values[name], std::string(key.unit), source});
  }

  spec.name = get<std::string>(values, "chip.name");
  spec.clock_mhz = get<double>(values, "chip.clock_mhz");
  spec.device = get_choice(values, "chip.device", kDevices);
  spec.leakage_mw = get<double>(values, "chip.leakage_mw");
  spec.data_movement = get_choice(values, "chip.data_movement", kDataMovements);
  spec.mapping = get_choice(values, "mapping", kMappings);
  spec.hierarchy = {get_int(values, "hierarchy.tiles"), get_int(values, "hierarchy.pes_per_tile"),
                    get_int(values, "hierarchy.crossbars_per_pe")};
  spec.crossbar = {get_int(values, "crossbar.rows"),
                   get_int(values, "crossbar.rows_per_read"),
                   get_int(values, "crossbar.cols"),
                   get_int(values, "crossbar.cell_bits"),
                   get<double>(values, "crossbar.read_time_ns"),
                   get<double>(values, "crossbar.read_energy_fj_per_cell"),
                   get<double>(values, "crossbar.cell_area_um2")};
  spec.dac = {get_int(values, "dac.bits"), get<double>(values, "dac.energy_pj"), get<double>(values, "dac.area_um2")};
  spec.adc = {&adc_models().at(get<std::string>(values, "adc.kind")),
              get_int(values, "adc.bits"),
              get_choice(values, "adc.range", kAdcRanges),
              get_int(values, "adc.columns_per_adc"),
              get<bool>(values, "adc.sample_and_hold"),
              get<double>(values, "adc.energy_per_step_fj"),
              get<double>(values, "adc.area_um2")};
  spec.noise = {get<double>(values, "noise.programming"), get<double>(values, "noise.drift_nu"),
                get<double>(values, "noise.drift_nu_std"),  get<double>(values, "noise.read_time_s"),
                get<double>(values, "noise.read"),          get<double>(values, "noise.thermal"),
                get<double>(values, "noise.shot"),          get<double>(values, "noise.unit_energy_fj")};
  spec.shift_add = {get_int(values, "shift_add.latency_cycles"), get<double>(values, "shift_add.energy_pj"),
                    get<double>(values, "shift_add.area_um2")};
  spec.buffer = {get<double>(values, "buffer.input_kib"), get<double>(values, "buffer.output_kib"),
                 get_int(values, "buffer.bandwidth_bytes_per_cycle"), get<double>(values, "buffer.energy_pj_per_byte"),
                 get<double>(values, "buffer.area_um2_per_kib")};
  spec.interconnect = {get_choice(values, "interconnect.kind", kInterconnects),
                       get_int(values, "interconnect.bandwidth_bytes_per_cycle"),
                       get_int(values, "interconnect.hop_latency_cycles"),
                       get<double>(values, "interconnect.energy_pj_per_byte_hop"),
                       get<double>(values, "interconnect.router_area_um2")};
  spec.weights = {get_choice(values, "weights.residency", kResidencies),
                  get_choice(values, "weights.write_granularity", kGranularities),
                  get<double>(values, "weights.row_write_time_ns"),
                  get<double>(values, "weights.crossbar_write_time_ns"),
                  get<double>(values, "weights.write_energy_pj_per_cell"),
                  get_int(values, "weights.write_ports")};

  // Checks that span keys name the key the user wrote last, where the fix belongs.
  const auto reject = [this](const char* key, const std::string& reason) {
    const auto found = settings_.find(key);
    const SourceLocation where = found != settings_.end() ? found->second.where : SourceLocation{"default"};
    throw ConfigError(located_message(where, key, reason));
  };
  if (spec.crossbar.rows_per_read > spec.crossbar.rows) {
    reject("crossbar.rows_per_read", "must not exceed crossbar.rows (" + std::to_string(spec.crossbar.rows) + ")");
  }
  if (spec.adc.columns_per_adc > spec.crossbar.cols) {
    reject("adc.columns_per_adc", "must not exceed crossbar.cols (" + std::to_string(spec.crossbar.cols) + ")");
  }
  if (spec.crossbar.read_energy_fj_per_cell == 0) {
    const std::string reason = "needs an energy per MAC: with crossbar.read_energy_fj_per_cell 0 the noise is unbounded";
    if (spec.noise.thermal > 0) reject("noise.thermal", reason);
    if (spec.noise.shot > 0) reject("noise.shot", reason);
  }
  const char* unused_write_time = spec.weights.write_granularity == WriteGranularity::Row
                                      ? "weights.crossbar_write_time_ns"
                                      : "weights.row_write_time_ns";
  if (settings_.count(unused_write_time) != 0) {
    reject(unused_write_time, std::string("has no effect with weights.write_granularity: ") +
                                  choice_name(spec.weights.write_granularity, kGranularities));
  }

  std::string canonical;
  for (const ChipKey& key : chip_keys()) {
    const std::string name(key.key);
    if (name == "chip.name") continue;
    if (key.fingerprint == Fingerprint::UnlessDefault && values.at(name) == default_of(key)) continue;
    canonical += name + "=" + setting_text(values.at(name)) + "\n";
  }
  spec.fingerprint = fingerprint_hex(canonical);
  return spec;
}

std::string hw_config_dir() { return QXBAR_HW_CONFIG_DIR; }

ChipDescription load_chip_description(const std::string& path_or_preset) {
  std::string path = path_or_preset;
  const bool names_preset = path.find('/') == std::string::npos && !std::filesystem::exists(path);
  if (names_preset) {
    path = hw_config_dir() + "/" + path_or_preset;
    if (std::filesystem::path(path).extension() != ".yaml") path += ".yaml";
    if (!std::filesystem::exists(path)) {
      throw ConfigError(path_or_preset + ": no such chip description file or preset in " + hw_config_dir());
    }
  }
  return ChipDescription::from_file(path);
}

ChipSpec load_chip(const std::string& path_or_preset, const std::vector<std::string>& overrides) {
  ChipDescription description = load_chip_description(path_or_preset);
  for (const std::string& assignment : overrides) description.apply_override(assignment);
  return description.resolve();
}


}  // namespace qxbar
