#include "sim/chip_schema.h"

#include <algorithm>
#include <sstream>

#include "sim/adc_models.h"

namespace qxbar {
namespace {

// Device-dependent defaults. Orders of magnitude follow ISAAC (Shafiee et al., ISCA 2016, Table 6:
// 128x128 2-bit ReRAM arrays at 100 ns per read, 0.3 mW and 25 um^2 per array) and the device cards of
// DNN+NeuroSim (Peng et al., IEDM 2019); CIM-AQ's preset gives 56 us per 256-row crossbar write.
SelectedDefault by_device(const char* rram, const char* sram, const char* pcm, const char* fefet) {
  return {"chip.device", {{"rram", rram}, {"sram", sram}, {"pcm", pcm}, {"fefet", fefet}}};
}

// The figure `field` of each ADC model, by adc.kind.
SelectedDefault by_adc_kind(std::string AdcModel::*field) {
  SelectedDefault selected{"adc.kind", {}};
  for (const AdcModel& model : adc_models().entries()) selected.by_choice.emplace_back(model.name, model.*field);
  return selected;
}

constexpr double kUnbounded = 1e12;

std::vector<ChipKey> make_chip_keys() {
  using V = ValueType;
  return {
      {"chip.name", V::Text, "", std::string_view("custom"), 0, 0, {}, "label used in reports"},
      {"chip.clock_mhz", V::Real, "MHz", std::string_view("1000"), 1, 1e5, {},
       "digital clock: ADC conversion steps, shift-add, buffers and interconnect run on it"},
      {"chip.device", V::Choice, "", std::string_view("rram"), 0, 0, {"rram", "sram", "pcm", "fefet"},
       "memory device of the crossbar cells; selects the device defaults below"},
      {"chip.leakage_mw", V::Real, "mW", std::string_view("1"), 0, kUnbounded, {},
       "static power of the whole chip, charged for the duration of every layer"},
      {"chip.data_movement", V::Choice, "", std::string_view("timed"), 0, 0, {"timed", "hidden"},
       "timed: buffer reads and writes and partial-sum transfers take time on finite ports and links; hidden: "
       "they are counted for energy but assumed to overlap crossbar execution (CIM-AQ's assumption)"},
      {"mapping", V::Choice, "", std::string_view("differential-column"), 0, 0,
       {"offset", "differential-column", "differential-row"},
       "signed-weight mapping: offset adds one reference column, differential-column doubles the columns, "
       "differential-row doubles the rows"},
      {"hierarchy.tiles", V::Integer, "count", std::string_view("1"), 1, 1e6, {}, "tiles on the chip"},
      {"hierarchy.pes_per_tile", V::Integer, "count", std::string_view("1"), 1, 1e6, {},
       "processing elements per tile"},
      {"hierarchy.crossbars_per_pe", V::Integer, "count", std::string_view("1"), 1, 1e6, {},
       "crossbars per processing element"},
      {"crossbar.rows", V::Integer, "cells", std::string_view("128"), 1, 65536, {},
       "word lines per crossbar (layer inputs map here)"},
      {"crossbar.rows_per_read", V::Integer, "rows", CopiedDefault{"crossbar.rows"}, 1, 65536, {},
       "word lines activated together: a tile of r rows is read in ceil(r / rows_per_read) groups per input "
       "bit-plane, one after another, and every group's column sums are converted",
       Fingerprint::UnlessDefault},
      {"crossbar.cols", V::Integer, "cells", std::string_view("128"), 1, 65536, {},
       "bit lines per crossbar (layer outputs times weight slices map here)"},
      {"crossbar.cell_bits", V::Integer, "bits", std::string_view("2"), 1, 8, {},
       "bits stored per cell; a w-bit weight takes ceil(w / cell_bits) slices"},
      {"crossbar.read_time_ns", V::Real, "ns", by_device("100", "10", "100", "50"), 1e-3, kUnbounded, {},
       "analog read of one row group of one input bit-plane through the array"},
      {"crossbar.read_energy_fj_per_cell", V::Real, "fJ", by_device("1.8", "0.3", "2.5", "0.5"), 0,
       kUnbounded, {}, "energy per mapped cell per analog read"},
      {"crossbar.cell_area_um2", V::Real, "um^2", by_device("0.0016", "0.15", "0.004", "0.01"), 0,
       kUnbounded, {}, "area of one cell"},
      {"dac.bits", V::Integer, "bits", std::string_view("1"), 1, 8, {},
       "input bits applied per cycle; an a-bit input takes ceil(a / dac.bits) cycles"},
      {"dac.energy_pj", V::Real, "pJ", std::string_view("0.4"), 0, kUnbounded, {},
       "energy per row driver conversion"},
      {"dac.area_um2", V::Real, "um^2", std::string_view("0.17"), 0, kUnbounded, {}, "area per row driver"},
      {"adc.kind", V::Choice, "", std::string_view("sar"), 0, 0, adc_models().names(),
       "converter type; " + adc_models().help()},
      {"adc.bits", V::Integer, "bits", std::string_view("8"), 1, 16, {}, "converter resolution"},
      {"adc.range", V::Choice, "", std::string_view("full"), 0, 0, {"full", "calibrated", "dynamic"},
       "sums the converter's codes span: full: the largest sums the cells and input bit-plane could produce; "
       "calibrated: one range per layer fitted on calibration data; dynamic: the smallest to the largest "
       "column sum of each conversion. Shapes the computed values, not the cost",
       Fingerprint::UnlessDefault},
      {"adc.columns_per_adc", V::Integer, "columns", std::string_view("8"), 1, 65536, {},
       "bit lines multiplexed onto one converter"},
      {"adc.sample_and_hold", V::Boolean, "", std::string_view("true"), 0, 0, {},
       "bit-line samples are held, so the next read overlaps the conversions"},
      {"adc.energy_per_step_fj", V::Real, "fJ", by_adc_kind(&AdcModel::energy_per_step_fj), 0, kUnbounded, {},
       "energy per conversion step: one conversion costs this times 2^bits"},
      {"adc.area_um2", V::Real, "um^2", by_adc_kind(&AdcModel::area_um2), 0, kUnbounded, {},
       "area per converter"},
      // Analog noise (off by default). Thermal and shot noise follow Garg et al. (arXiv 2102.06365), whose
      // energy per MAC E is the energy the table above charges per cell read, in units of noise.unit_energy_fj.
      {"noise.programming", V::Real, "of top level", std::string_view("0"), 0, 1, {},
       "standard deviation of a cell's programmed level as a fraction of the top level 2^cell_bits - 1, drawn "
       "once each time weights are programmed; levels below zero read as zero",
       Fingerprint::UnlessDefault},
      {"noise.drift_nu", V::Real, "", std::string_view("0"), 0, 1, {},
       "mean drift exponent: a cell of level g reads g (t / 20 s)^-nu at t = noise.read_time_s, nu drawn per "
       "cell from |N(drift_nu, drift_nu_std)|; outputs are scaled back by (t / 20 s)^drift_nu (global drift "
       "compensation)",
       Fingerprint::UnlessDefault},
      {"noise.drift_nu_std", V::Real, "", std::string_view("0"), 0, 1, {},
       "standard deviation of the drift exponent across cells", Fingerprint::UnlessDefault},
      {"noise.read_time_s", V::Real, "s", std::string_view("20"), 20, kUnbounded, {},
       "time from programming to inference, for drift", Fingerprint::UnlessDefault},
      {"noise.read", V::Real, "of full range", std::string_view("0"), 0, 1, {},
       "standard deviation of every converted column sum as a fraction of that conversion's full range, drawn "
       "anew for each conversion",
       Fingerprint::UnlessDefault},
      {"noise.thermal", V::Real, "", std::string_view("0"), 0, kUnbounded, {},
       "thermal-noise coefficient k: a column sum over n rows gets sigma = k sqrt(n / E) (2^cell_bits - 1) "
       "x_max, x_max the largest input level (Garg et al.: 0.01)",
       Fingerprint::UnlessDefault},
      {"noise.shot", V::Real, "", std::string_view("0"), 0, kUnbounded, {},
       "shot-noise coefficient k: a column sum over n rows of cell levels g and input levels x gets "
       "sigma = k |g| |x| / sqrt(n E) (Garg et al.: 1)",
       Fingerprint::UnlessDefault},
      {"noise.unit_energy_fj", V::Real, "fJ", std::string_view("1"), 1e-9, kUnbounded, {},
       "energy per MAC that counts as E = 1 in the thermal and shot formulas: E = "
       "crossbar.read_energy_fj_per_cell / noise.unit_energy_fj",
       Fingerprint::UnlessDefault},
      {"shift_add.latency_cycles", V::Integer, "cycles", std::string_view("1"), 0, 1e6, {},
       "time to merge one converted sample into its partial sum"},
      {"shift_add.energy_pj", V::Real, "pJ", std::string_view("0.05"), 0, kUnbounded, {},
       "energy per shift-add operation"},
      {"shift_add.area_um2", V::Real, "um^2", std::string_view("60"), 0, kUnbounded, {},
       "area per shift-add unit (one per converter)"},
      {"buffer.input_kib", V::Real, "KiB", std::string_view("64"), 0, kUnbounded, {},
       "input buffer per tile"},
      {"buffer.output_kib", V::Real, "KiB", std::string_view("64"), 0, kUnbounded, {},
       "output buffer per tile"},
      {"buffer.bandwidth_bytes_per_cycle", V::Integer, "B/cycle", std::string_view("64"), 1, 1e6, {},
       "buffer port width"},
      {"buffer.energy_pj_per_byte", V::Real, "pJ/B", std::string_view("0.3"), 0, kUnbounded, {},
       "energy per byte read or written"},
      {"buffer.area_um2_per_kib", V::Real, "um^2/KiB", std::string_view("1300"), 0, kUnbounded, {},
       "buffer area per KiB"},
      {"interconnect.kind", V::Choice, "", std::string_view("bus"), 0, 0, {"bus", "mesh"},
       "network joining the tiles: a shared bus or a 2-D mesh of routers"},
      {"interconnect.bandwidth_bytes_per_cycle", V::Integer, "B/cycle", std::string_view("32"), 1, 1e6, {},
       "link width"},
      {"interconnect.hop_latency_cycles", V::Integer, "cycles", std::string_view("1"), 0, 1e6, {},
       "latency of one hop"},
      {"interconnect.energy_pj_per_byte_hop", V::Real, "pJ/B", std::string_view("0.5"), 0, kUnbounded, {},
       "energy to move one byte over one hop"},
      {"interconnect.router_area_um2", V::Real, "um^2", std::string_view("37750"), 0, kUnbounded, {},
       "area per tile router or bus interface"},
      {"weights.residency", V::Choice, "", std::string_view("stationary"), 0, 0, {"stationary", "reprogram"},
       "stationary: a layer that fits stays programmed and inference pays no writes; reprogram: every "
       "layer is written before it runs"},
      {"weights.write_granularity", V::Choice, "", std::string_view("row"), 0, 0, {"row", "crossbar"},
       "unit of a write operation"},
      {"weights.row_write_time_ns", V::Real, "ns", by_device("200", "2", "500", "100"), 0, kUnbounded, {},
       "time to program one row (write_granularity: row)"},
      {"weights.crossbar_write_time_ns", V::Real, "ns", by_device("56000", "512", "128000", "25600"), 0,
       kUnbounded, {}, "time to program one whole crossbar (write_granularity: crossbar)"},
      {"weights.write_energy_pj_per_cell", V::Real, "pJ", by_device("1", "0.01", "10", "0.1"), 0, kUnbounded,
       {}, "energy to program one cell"},
      {"weights.write_ports", V::Integer, "count", std::string_view("1"), 1, 1e6, {},
       "crossbars that can be programmed at the same time"},
  };
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string describe_default(const ChipKey& key) {
  if (const auto* literal = std::get_if<std::string_view>(&key.default_value)) {
    return std::string(*literal);
  }
  if (const auto* copied = std::get_if<CopiedDefault>(&key.default_value)) {
    return "= " + std::string(copied->key);
  }
  const auto& selected = std::get<SelectedDefault>(key.default_value);
  std::string text;
  for (const auto& [choice, value] : selected.by_choice) {
    if (!text.empty()) text += ", ";
    text += std::string(choice) + ": " + std::string(value);
  }
  return text;
}

std::string describe_range(const ChipKey& key) {
  std::ostringstream out;
  switch (key.type) {
    case ValueType::Integer:
    case ValueType::Real:
      out << key.min << " to ";
      if (key.max >= kUnbounded) {
        out << "any";
      } else {
        out << key.max;
      }
      break;
    case ValueType::Choice:
      for (std::size_t i = 0; i < key.choices.size(); ++i) out << (i ? ", " : "") << key.choices[i];
      break;
    case ValueType::Boolean:
      out << "true, false";
      break;
    case ValueType::Text:
      out << "text";
      break;
  }
  return out.str();
}

}  // namespace

const std::vector<ChipKey>& chip_keys() {
  static const std::vector<ChipKey> keys = make_chip_keys();
  return keys;
}

const ChipKey* find_chip_key(std::string_view dotted_key) {
  for (const ChipKey& key : chip_keys()) {
    if (key.key == dotted_key) return &key;
  }
  return nullptr;
}

bool is_chip_key_group(std::string_view prefix) {
  for (const ChipKey& key : chip_keys()) {
    if (key.key.size() > prefix.size() && key.key.substr(0, prefix.size()) == prefix &&
        key.key[prefix.size()] == '.') {
      return true;
    }
  }
  return false;
}

std::string closest_chip_key(std::string_view dotted_key) {
  std::string best;
  std::size_t best_distance = 4;  // further than this is a different word, not a typo
  for (const ChipKey& key : chip_keys()) {
    const std::size_t distance = edit_distance(dotted_key, key.key);
    if (distance < best_distance) {
      best_distance = distance;
      best = std::string(key.key);
    }
  }
  return best;
}

std::string chip_keys_markdown() {
  std::ostringstream out;
  out << "| key | type | unit | default | range | meaning |\n|---|---|---|---|---|---|\n";
  static const char* const type_names[] = {"integer", "real", "boolean", "choice", "text"};
  for (const ChipKey& key : chip_keys()) {
    out << "| `" << key.key << "` | " << type_names[static_cast<int>(key.type)] << " | " << key.unit << " | "
        << describe_default(key) << " | " << describe_range(key) << " | " << key.description << " |\n";
  }
  return out.str();
}

}  // namespace qxbar
