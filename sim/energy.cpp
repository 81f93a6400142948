#include "sim/energy.h"

#include "sim/core/checked.h"

namespace qxbar {

ActionCounts& ActionCounts::operator+=(const ActionCounts& other) {
  for (const CounterInfo& info : counter_infos()) this->*info.field = checked_add(this->*info.field, other.*info.field, info.name);
  return *this;
}

ActionCounts& ActionCounts::operator*=(std::int64_t factor) {
  for (const CounterInfo& info : counter_infos()) this->*info.field = checked_multiply(this->*info.field, factor, info.name);
  return *this;
}

const std::array<CounterInfo, 9>& counter_infos() {
  static const std::array<CounterInfo, 9> infos = {{
      {"crossbar_reads", "count", &ActionCounts::crossbar_reads,
       "crossbar activations, one row group of one input bit-plane each"},
      {"cell_reads", "count", &ActionCounts::cell_reads, "mapped cells read"},
      {"dac_conversions", "count", &ActionCounts::dac_conversions, "row driver conversions"},
      {"adc_conversions", "count", &ActionCounts::adc_conversions, "bit-line samples converted"},
      {"shift_adds", "count", &ActionCounts::shift_adds, "samples merged into partial sums"},
      {"buffer_bytes", "B", &ActionCounts::buffer_bytes, "bytes read from and written to tile buffers"},
      {"interconnect_byte_hops", "B*hop", &ActionCounts::interconnect_byte_hops,
       "partial-sum bytes moved, times hops travelled"},
      {"crossbar_writes", "count", &ActionCounts::crossbar_writes, "crossbars programmed"},
      {"cells_written", "count", &ActionCounts::cells_written, "cells programmed"},
  }};
  return infos;
}

const char* to_string(Component component) {
  static const char* const names[kComponentCount] = {"crossbar", "dac",          "adc",   "shift_add",
                                                     "buffer",   "interconnect", "write", "leakage"};
  return names[static_cast<std::size_t>(component)];
}

std::string energy_column(Component component) { return std::string("energy_") + to_string(component) + "_pj"; }

double PerComponent::total() const {
  double sum = 0;
  for (const double value : values) sum += value;
  return sum;
}

PerComponent& PerComponent::operator+=(const PerComponent& other) {
  for (std::size_t i = 0; i < kComponentCount; ++i) values[i] += other.values[i];
  return *this;
}

PerComponent& PerComponent::operator*=(double factor) {
  for (double& value : values) value *= factor;
  return *this;
}

double read_energy_fj_per_cell(const ChipSpec& chip, const Bits& bits) {
  return bits.read_energy_fj_per_cell.value_or(chip.crossbar.read_energy_fj_per_cell);
}

PerComponent energy_of(const ChipSpec& chip, const Bits& bits, const ActionCounts& counts, double latency_ns) {
  PerComponent energy;
  energy[Component::Crossbar] = counts.cell_reads * read_energy_fj_per_cell(chip, bits) / 1000.0;
  energy[Component::Dac] = counts.dac_conversions * chip.dac.energy_pj;
  energy[Component::Adc] = counts.adc_conversions * chip.adc_conversion_energy_pj();
  energy[Component::ShiftAdd] = counts.shift_adds * chip.shift_add.energy_pj;
  energy[Component::Buffer] = counts.buffer_bytes * chip.buffer.energy_pj_per_byte;
  energy[Component::Interconnect] = counts.interconnect_byte_hops * chip.interconnect.energy_pj_per_byte_hop;
  energy[Component::Write] = counts.cells_written * chip.weights.write_energy_pj_per_cell;
  energy[Component::Leakage] = chip.leakage_mw * latency_ns;  // mW x ns = pJ
  return energy;
}

PerComponent area_of(const ChipSpec& chip) {
  const double crossbars = static_cast<double>(chip.crossbars_on_chip());
  const double adcs = crossbars * chip.adcs_per_crossbar();
  PerComponent area;
  area[Component::Crossbar] = crossbars * chip.crossbar.rows * chip.crossbar.cols * chip.crossbar.cell_area_um2;
  area[Component::Dac] = crossbars * chip.crossbar.rows * chip.dac.area_um2;
  area[Component::Adc] = adcs * chip.adc.area_um2;
  area[Component::ShiftAdd] = adcs * chip.shift_add.area_um2;
  area[Component::Buffer] =
      chip.hierarchy.tiles * (chip.buffer.input_kib + chip.buffer.output_kib) * chip.buffer.area_um2_per_kib;
  area[Component::Interconnect] = chip.hierarchy.tiles * chip.interconnect.router_area_um2;
  return area;
}

}  // namespace qxbar
