#include "sim/chip_spec.h"

#include <gmock/gmock.h>

#include "sim/chip_schema.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using qxbar::testing::TempDir;
using qxbar::testing::error_message;

ChipSpec chip_from(const TempDir& dir, const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return load_chip(dir.write("chip.yaml", yaml), overrides);
}

std::string chip_error(const TempDir& dir, const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  return error_message<ConfigError>([&] { chip_from(dir, yaml, overrides); });
}

TEST(ChipSpec, CimaqPresetHoldsCimaqDefaults) {
  const ChipSpec chip = load_chip("cimaq_default");
  EXPECT_EQ(chip.crossbar.rows, 256);
  EXPECT_EQ(chip.crossbar.cols, 256);
  EXPECT_EQ(chip.crossbar.cell_bits, 4);
  EXPECT_EQ(chip.dac.bits, 1);
  EXPECT_EQ(chip.mapping, SignedMapping::DifferentialColumn);
  EXPECT_EQ(chip.crossbars_on_chip(), 1);
  EXPECT_EQ(chip.weights.residency, WeightResidency::Reprogram);
  EXPECT_DOUBLE_EQ(chip.crossbar_write_ns(256), 56000.0);
  // One MVM execution: the analog read plus one SAR conversion per column.
  EXPECT_DOUBLE_EQ(chip.crossbar.read_time_ns + chip.adc_conversion_ns(), 1400.0);
}

TEST(ChipSpec, EveryPresetLoadsAndIsaacHasItsHierarchy) {
  for (const char* preset : {"cimaq_default", "isaac", "neurosim_rram"}) {
    EXPECT_NO_THROW(load_chip(preset)) << preset;
  }
  const ChipSpec isaac = load_chip("isaac");
  EXPECT_EQ(isaac.crossbars_on_chip(), 168 * 12 * 8);
  EXPECT_EQ(isaac.adcs_per_crossbar(), 1);
  const ChipSpec neurosim = load_chip("neurosim_rram");
  EXPECT_EQ(neurosim.crossbar.cell_bits, 1);
  EXPECT_EQ(neurosim.adc.columns_per_adc, 8);
  EXPECT_EQ(neurosim.adcs_per_crossbar(), 16);
}

TEST(ChipSpec, EmptyDescriptionTakesEveryDefault) {
  TempDir dir;
  const ChipSpec chip = chip_from(dir, "{}\n");
  for (const ResolvedSetting& setting : chip.settings) EXPECT_EQ(setting.source, "default") << setting.key;
  EXPECT_EQ(chip.settings.size(), chip_keys().size());
}

TEST(ChipSpec, UnknownKeyIsNamedWithItsPositionAndASuggestion) {
  TempDir dir;
  const std::string message = chip_error(dir, "crossbar:\n  rows: 128\nadc:\n  bit: 4\n");
  EXPECT_EQ(message, dir.file("chip.yaml") + ":4:3: adc.bit: unknown key (did you mean adc.bits?)");
}

TEST(ChipSpec, UnknownTopLevelGroupIsAnError) {
  TempDir dir;
  EXPECT_EQ(chip_error(dir, "memory:\n  size: 4\n"), dir.file("chip.yaml") + ":1:1: memory: unknown key");
}

TEST(ChipSpec, WrongTypeNamesTheKey) {
  TempDir dir;
  EXPECT_EQ(chip_error(dir, "crossbar:\n  rows: many\n"),
            dir.file("chip.yaml") + ":2:9: crossbar.rows: expected an integer, got 'many'");
  EXPECT_THAT(chip_error(dir, "crossbar:\n  rows: 128.5\n"), HasSubstr("crossbar.rows: expected an integer"));
  EXPECT_THAT(chip_error(dir, "adc:\n  sample_and_hold: maybe\n"),
              HasSubstr(":2:20: adc.sample_and_hold: expected true or false"));
  EXPECT_THAT(chip_error(dir, "crossbar:\n  rows: [1, 2]\n"), HasSubstr("crossbar.rows: expected an integer"));
}

TEST(ChipSpec, OutOfRangeValuesAreRejected) {
  TempDir dir;
  EXPECT_EQ(chip_error(dir, "crossbar:\n  cell_bits: 9\n"),
            dir.file("chip.yaml") + ":2:14: crossbar.cell_bits: must be 1 to 8, got 9");
  EXPECT_THAT(chip_error(dir, "chip:\n  clock_mhz: 0\n"), HasSubstr("chip.clock_mhz: must be 1 to 100000, got 0"));
  EXPECT_THAT(chip_error(dir, "mapping: diagonal\n"),
              HasSubstr(":1:10: mapping: must be one of offset, differential-column, differential-row, got 'diagonal'"));
}

TEST(ChipSpec, MalformedOrMissingFilesAreConfigErrors) {
  TempDir dir;
  EXPECT_THAT(chip_error(dir, "crossbar: [1, 2\n"), StartsWith(dir.file("chip.yaml") + ":"));
  EXPECT_THAT(chip_error(dir, "crossbar: [1, 2\n"), HasSubstr("malformed YAML"));
  EXPECT_THAT(chip_error(dir, "crossbar: 5\n"), HasSubstr(":1:11: crossbar: expected a mapping of keys"));
  EXPECT_EQ(error_message<ConfigError>([&] { load_chip(dir.file("absent.yaml")); }),
            dir.file("absent.yaml") + ": cannot open file");
  EXPECT_THAT(error_message<ConfigError>([] { load_chip("no_such_preset"); }),
              HasSubstr("no_such_preset: no such chip description file or preset"));
}

TEST(ChipSpec, OverridesAreValidatedLikeFileValues) {
  TempDir dir;
  const ChipSpec chip = chip_from(dir, "crossbar:\n  rows: 128\n", {"crossbar.rows=64", "adc.kind=flash"});
  EXPECT_EQ(chip.crossbar.rows, 64);
  EXPECT_EQ(chip.adc.model->name, "flash");
  EXPECT_EQ(chip.setting("crossbar.rows").source, "--set crossbar.rows=64");
  EXPECT_EQ(chip.setting("crossbar.cols").source, "default");

  EXPECT_EQ(chip_error(dir, "{}", {"crossbar.rows=0"}), "--set crossbar.rows=0: crossbar.rows: must be 1 to 65536, got 0");
  EXPECT_EQ(chip_error(dir, "{}", {"crossbar.rows=lots"}),
            "--set crossbar.rows=lots: crossbar.rows: expected an integer, got 'lots'");
  EXPECT_EQ(chip_error(dir, "{}", {"adc.bit=4"}), "--set adc.bit=4: adc.bit: unknown key (did you mean adc.bits?)");
  EXPECT_EQ(chip_error(dir, "{}", {"adc.bits"}), "--set adc.bits: expected dotted.key=value");
}

TEST(ChipSpec, DeviceAndAdcKindSelectDefaults) {
  TempDir dir;
  const ChipSpec rram = chip_from(dir, "{}");
  const ChipSpec sram = chip_from(dir, "chip:\n  device: sram\n");
  EXPECT_DOUBLE_EQ(rram.crossbar.read_time_ns, 100.0);
  EXPECT_DOUBLE_EQ(sram.crossbar.read_time_ns, 10.0);
  EXPECT_LT(sram.weights.row_write_time_ns, rram.weights.row_write_time_ns);
  const ChipSpec flash = chip_from(dir, "adc:\n  kind: flash\n");
  EXPECT_GT(flash.adc.energy_per_step_fj, rram.adc.energy_per_step_fj);
  // An explicit value wins over the selected default.
  EXPECT_DOUBLE_EQ(chip_from(dir, "chip:\n  device: sram\ncrossbar:\n  read_time_ns: 7\n").crossbar.read_time_ns, 7.0);
}

TEST(ChipSpec, ChecksAcrossKeysNameTheOffendingKey) {
  TempDir dir;
  EXPECT_EQ(chip_error(dir, "crossbar:\n  cols: 64\nadc:\n  columns_per_adc: 128\n"),
            dir.file("chip.yaml") + ":4:20: adc.columns_per_adc: must not exceed crossbar.cols (64)");
  EXPECT_EQ(chip_error(dir, "weights:\n  crossbar_write_time_ns: 100\n"),
            dir.file("chip.yaml") +
                ":2:27: weights.crossbar_write_time_ns: has no effect with weights.write_granularity: row");
}

TEST(ChipSpec, FingerprintFollowsValuesNotLabels) {
  TempDir dir;
  const ChipSpec base = chip_from(dir, "{}");
  EXPECT_EQ(base.fingerprint, chip_from(dir, "chip:\n  name: renamed\n").fingerprint);
  EXPECT_EQ(base.fingerprint, chip_from(dir, "crossbar:\n  rows: 128\n").fingerprint);  // the default, spelled out
  EXPECT_NE(base.fingerprint, chip_from(dir, "{}", {"crossbar.rows=64"}).fingerprint);
  EXPECT_EQ(base.fingerprint.size(), 16u);
}

TEST(ChipSpec, ChipKeyReferenceInReadmeMatchesTheKeyTable) {
  const std::string readme = qxbar::testing::read_text(qxbar::testing::source_path("hw_configs/README.md"));
  EXPECT_THAT(readme, HasSubstr(chip_keys_markdown()))
      << "regenerate the table with: qxbar check-hw --keys-markdown";
}

TEST(ChipSpec, RequiredDottedKeysExist) {
  for (const char* key : {"crossbar.rows", "crossbar.cols", "crossbar.cell_bits", "dac.bits", "adc.bits",
                          "adc.columns_per_adc", "mapping"}) {
    EXPECT_NE(find_chip_key(key), nullptr) << key;
  }
}

}  // namespace
}  // namespace qxbar
