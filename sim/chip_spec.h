#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "sim/adc_models.h"
#include "sim/core/errors.h"

namespace qxbar {

enum class Device { Rram, Sram, Pcm, Fefet };
enum class SignedMapping { Offset, DifferentialColumn, DifferentialRow };
enum class AdcRange { Full, Calibrated, Dynamic };  // see crossbar_arithmetic.h
enum class InterconnectKind { Bus, Mesh };
enum class WeightResidency { Stationary, Reprogram };
enum class WriteGranularity { Row, Crossbar };
enum class DataMovement { Timed, Hidden };

using SettingValue = std::variant<std::int64_t, double, bool, std::string>;

struct ResolvedSetting {
  std::string key;
  SettingValue value;
  std::string unit;
  std::string source;  // "file:line:column", "--set ...", or "default"
};

std::string setting_text(const SettingValue& value);

// A validated chip with every unit resolved. Immutable once built; only ChipDescription::resolve makes one.
struct ChipSpec {
  std::string name;
  double clock_mhz = 0;
  Device device = Device::Rram;
  double leakage_mw = 0;
  DataMovement data_movement = DataMovement::Timed;
  SignedMapping mapping = SignedMapping::DifferentialColumn;

  struct Hierarchy {
    int tiles = 0;
    int pes_per_tile = 0;
    int crossbars_per_pe = 0;
  } hierarchy;

  struct Crossbar {
    int rows = 0;
    int rows_per_read = 0;
    int cols = 0;
    int cell_bits = 0;
    double read_time_ns = 0;
    double read_energy_fj_per_cell = 0;
    double cell_area_um2 = 0;
  } crossbar;

  struct Dac {
    int bits = 0;
    double energy_pj = 0;
    double area_um2 = 0;
  } dac;

  struct Adc {
    const AdcModel* model = nullptr;  // adc.kind, an entry of adc_models()
    int bits = 0;
    AdcRange range = AdcRange::Full;
    int columns_per_adc = 0;
    bool sample_and_hold = true;
    double energy_per_step_fj = 0;
    double area_um2 = 0;
  } adc;

  struct Noise {
    double programming = 0;
    double drift_nu = 0;
    double drift_nu_std = 0;
    double read_time_s = 0;
    double read = 0;
    double thermal = 0;
    double shot = 0;
    double unit_energy_fj = 0;
  } noise;

  struct ShiftAdd {
    int latency_cycles = 0;
    double energy_pj = 0;
    double area_um2 = 0;
  } shift_add;

  struct Buffer {
    double input_kib = 0;
    double output_kib = 0;
    int bandwidth_bytes_per_cycle = 0;
    double energy_pj_per_byte = 0;
    double area_um2_per_kib = 0;
  } buffer;

  struct Interconnect {
    InterconnectKind kind = InterconnectKind::Bus;
    int bandwidth_bytes_per_cycle = 0;
    int hop_latency_cycles = 0;
    double energy_pj_per_byte_hop = 0;
    double router_area_um2 = 0;
  } interconnect;

  struct Weights {
    WeightResidency residency = WeightResidency::Stationary;
    WriteGranularity write_granularity = WriteGranularity::Row;
    double row_write_time_ns = 0;
    double crossbar_write_time_ns = 0;
    double write_energy_pj_per_cell = 0;
    int write_ports = 0;
  } weights;

  // Every key with its resolved value, unit and origin, in the order of the key table.
  std::vector<ResolvedSetting> settings;
  // Stable 64-bit hash (hex) of the resolved values: the chip's identity in caches and result stores.
  std::string fingerprint;

  // The resolved setting of a dotted key; throws std::out_of_range for a key the table does not have.
  const ResolvedSetting& setting(const std::string& key) const;

  double cycle_ns() const { return 1000.0 / clock_mhz; }
  std::int64_t crossbars_on_chip() const;
  int adcs_per_crossbar() const;
  double adc_conversion_ns() const;   // one sample
  double adc_conversion_energy_pj() const;
  // Time to program one crossbar holding `rows_used` rows of weights.
  double crossbar_write_ns(std::int64_t rows_used) const;
};

// The raw layer of a chip description: each value as the file or a --set override gave it, already
// type- and range-checked against the key table, with where it came from. resolve() adds defaults and
// the checks that span several keys, and returns the immutable ChipSpec.
class ChipDescription {
 public:
  static ChipDescription from_file(const std::string& path);

  // "dotted.key=value"; the value is read as YAML and validated exactly like a value in a file.
  void apply_override(const std::string& assignment);

  ChipSpec resolve() const;

 private:
  struct Setting {
    SettingValue value;
    SourceLocation where;
  };
  std::map<std::string, Setting> settings_;
};

// Reads a chip description by file path, or by preset name from the installed hw_configs folder.
ChipDescription load_chip_description(const std::string& path_or_preset);

// Loads a chip by file path, or by preset name from the installed hw_configs folder, and applies overrides.
ChipSpec load_chip(const std::string& path_or_preset, const std::vector<std::string>& overrides = {});

// The folder holding the preset chip descriptions.
std::string hw_config_dir();


}  // namespace qxbar
