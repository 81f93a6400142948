#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "sim/chip_spec.h"
#include "sim/core/policy.h"

namespace qxbar {

// Actions one layer performs. Engines count them; the energy table alone turns them into joules, so a
// new energy model touches one file and no engine.
struct ActionCounts {
  std::int64_t crossbar_reads = 0;  // one crossbar reading one row group of one input bit-plane
  std::int64_t cell_reads = 0;
  std::int64_t dac_conversions = 0;
  std::int64_t adc_conversions = 0;
  std::int64_t shift_adds = 0;
  std::int64_t buffer_bytes = 0;
  std::int64_t interconnect_byte_hops = 0;
  std::int64_t crossbar_writes = 0;
  std::int64_t cells_written = 0;

  // Checked: a counter beyond 64 bits throws CountOverflow.
  ActionCounts& operator+=(const ActionCounts& other);
  ActionCounts& operator*=(std::int64_t factor);
};

struct CounterInfo {
  const char* name;
  const char* unit;
  std::int64_t ActionCounts::*field;
  const char* description;
};

// Names, units and meanings of the counters, in the order CSV columns and JSON keys use.
const std::array<CounterInfo, 9>& counter_infos();

enum class Component { Crossbar, Dac, Adc, ShiftAdd, Buffer, Interconnect, Write, Leakage };
constexpr std::size_t kComponentCount = 8;
constexpr std::array<Component, kComponentCount> kComponents = {
    Component::Crossbar, Component::Dac,          Component::Adc,   Component::ShiftAdd,
    Component::Buffer,   Component::Interconnect, Component::Write, Component::Leakage};
// The components that occupy area; writes and leakage are activities, not blocks.
constexpr std::array<Component, 6> kAreaComponents = {Component::Crossbar, Component::Dac,    Component::Adc,
                                                      Component::ShiftAdd, Component::Buffer, Component::Interconnect};
const char* to_string(Component component);
// "energy_<component>_pj": the name of the component's energy in CSV headers and result tables.
std::string energy_column(Component component);

// One number per hardware component: energy in pJ, or area in um^2.
struct PerComponent {
  std::array<double, kComponentCount> values{};
  double total() const;
  double& operator[](Component component) { return values[static_cast<std::size_t>(component)]; }
  double operator[](Component component) const { return values[static_cast<std::size_t>(component)]; }
  PerComponent& operator+=(const PerComponent& other);
  PerComponent& operator*=(double factor);
};

// The energy a layer's crossbars spend per cell read: its policy's, or the chip's. The energy table
// charges it and the thermal and shot noise shrink with it (sim/crossbar_arithmetic.h).
double read_energy_fj_per_cell(const ChipSpec& chip, const Bits& bits);

// The energy reference table: the chip's per-action energies applied to the counts of a layer at `bits`,
// plus leakage for the time the layer occupies the chip. Result in pJ.
PerComponent energy_of(const ChipSpec& chip, const Bits& bits, const ActionCounts& counts, double latency_ns);

// Static area of the instantiated components in um^2 (Write and Leakage have none).
PerComponent area_of(const ChipSpec& chip);

}  // namespace qxbar
