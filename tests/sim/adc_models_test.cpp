#include "sim/adc_models.h"

#include <gmock/gmock.h>

#include <set>

#include "sim/chip_spec.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using qxbar::testing::TempDir;
using qxbar::testing::error_message;

// One row per ADC kind, figures worked out by hand: an 8-bit conversion at the given clock, and the kind's
// default energy per step and area. A conversion costs the energy per step times 2^8 = 256 steps.
struct AdcRow {
  std::string kind;
  double clock_mhz;
  double conversion_ns;
  double energy_per_step_fj;
  double conversion_energy_pj;
  double area_um2;
};

const std::vector<AdcRow> kRows = {
    {"sar", 1000, 8.0, 6.1, 1.5616, 1200},     // 8 cycles of 1 ns; 6.1 fJ x 256
    {"flash", 1280, 0.78125, 20, 5.12, 3000},  // 1 cycle of 1 / 1.28 GHz; 20 fJ x 256
};

TEST(AdcModels, EachKindConvertsAndDefaultsAsWorkedOutByHand) {
  TempDir dir;
  for (const AdcRow& row : kRows) {
    const ChipSpec chip = load_chip(dir.write("chip.yaml", "{}"), {"adc.kind=" + row.kind, "adc.bits=8",
                                                                   "chip.clock_mhz=" + std::to_string(row.clock_mhz)});
    EXPECT_EQ(chip.adc.model->name, row.kind);
    EXPECT_DOUBLE_EQ(chip.adc_conversion_ns(), row.conversion_ns) << row.kind;
    EXPECT_DOUBLE_EQ(chip.adc.energy_per_step_fj, row.energy_per_step_fj) << row.kind;
    EXPECT_DOUBLE_EQ(chip.adc_conversion_energy_pj(), row.conversion_energy_pj) << row.kind;
    EXPECT_DOUBLE_EQ(chip.adc.area_um2, row.area_um2) << row.kind;
  }
}

TEST(AdcModels, EveryKindHasATestRow) {
  std::set<std::string> tested;
  for (const AdcRow& row : kRows) tested.insert(row.kind);
  const std::vector<std::string> names = adc_models().names();
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()), tested);
}

TEST(AdcModels, UnknownKindNamesTheChoices) {
  TempDir dir;
  EXPECT_EQ(error_message<ConfigError>([&] { load_chip(dir.write("chip.yaml", "adc:\n  kind: pipelined\n")); }),
            dir.file("chip.yaml") + ":2:9: adc.kind: must be one of sar, flash, got 'pipelined'");
}

}  // namespace
}  // namespace qxbar
