#include "sim/chip_spec.h"

#include <gmock/gmock.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "sim/chip_schema.h"
#include "sim/crossbar_arithmetic.h"
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
  for (const char* preset : {"cimaq_default", "isaac", "neurosim_rram", "pcm"}) {
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

// One row of the key reference in hw_configs/README.md, as a reader sees it.
struct DocumentedKey {
  std::string key;
  std::string type;
  std::string default_text;
  std::string range_text;
};

std::vector<DocumentedKey> documented_keys() {
  std::istringstream readme(qxbar::testing::read_text(qxbar::testing::source_path("hw_configs/README.md")));
  std::vector<DocumentedKey> keys;
  bool in_reference = false;
  for (std::string line; std::getline(readme, line);) {
    if (line.rfind("## ", 0) == 0) in_reference = line == "## Every key";
    if (!in_reference || line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::istringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) {
      const std::size_t first = cell.find_first_not_of(' ');
      cells.push_back(first == std::string::npos ? "" : cell.substr(first, cell.find_last_not_of(' ') - first + 1));
    }
    keys.push_back({cells.at(0).substr(1, cells.at(0).size() - 2), cells.at(1), cells.at(3), cells.at(4)});
  }
  return keys;
}

// "rram: 100, sram: 10" as (choice, value) pairs.
std::vector<std::pair<std::string, std::string>> per_choice(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  std::istringstream items(text);
  for (std::string item; std::getline(items, item, ',');) {
    item.erase(0, item.find_first_not_of(' '));
    const std::size_t colon = item.find(": ");
    pairs.emplace_back(item.substr(0, colon), item.substr(colon + 2));
  }
  return pairs;
}

// The reference a user reads must be what an empty description resolves to: every key in its order, each
// default as stated (per choice of the key that selects it, or a copy of another key's value).
TEST(ChipSpec, EmptyDescriptionResolvesToTheDefaultsTheKeyReferenceStates) {
  TempDir dir;
  const std::vector<DocumentedKey> documented = documented_keys();
  const ChipSpec chip = chip_from(dir, "{}\n");
  ASSERT_EQ(chip.settings.size(), documented.size());
  for (std::size_t i = 0; i < documented.size(); ++i) {
    const DocumentedKey& doc = documented[i];
    const ResolvedSetting& setting = chip.settings[i];
    ASSERT_EQ(setting.key, doc.key);
    EXPECT_EQ(setting.source, "default") << doc.key;
    if (doc.default_text.rfind("= ", 0) == 0) {
      EXPECT_EQ(setting_text(setting.value), setting_text(chip.setting(doc.default_text.substr(2)).value)) << doc.key;
    } else if (doc.type != "text" && doc.default_text.find(": ") != std::string::npos) {
      const auto choices = per_choice(doc.default_text);
      std::string names;
      for (const auto& [choice, value] : choices) names += (names.empty() ? "" : ", ") + choice;
      const auto selector = std::find_if(documented.begin(), documented.end(), [&](const DocumentedKey& other) {
        return other.type == "choice" && other.range_text == names;
      });
      ASSERT_NE(selector, documented.end()) << doc.key << ": no key chooses among " << names;
      for (const auto& [choice, value] : choices) {
        const ChipSpec selected = chip_from(dir, "{}", {selector->key + "=" + choice});
        EXPECT_EQ(setting_text(selected.setting(doc.key).value), value) << doc.key << " with " << choice;
      }
    } else {
      EXPECT_EQ(setting_text(setting.value), doc.default_text) << doc.key;
    }
  }
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

TEST(ChipSpec, RowsPerReadDefaultsToAllRowsAndAdcRangeToFull) {
  TempDir dir;
  const ChipSpec base = chip_from(dir, "{}");
  EXPECT_EQ(base.crossbar.rows_per_read, 128);
  EXPECT_EQ(base.adc.range, AdcRange::Full);
  EXPECT_EQ(chip_from(dir, "crossbar:\n  rows: 64\n").crossbar.rows_per_read, 64);
  const ChipSpec set = chip_from(dir, "crossbar:\n  rows: 64\n  rows_per_read: 16\nadc:\n  range: dynamic\n");
  EXPECT_EQ(set.crossbar.rows_per_read, 16);
  EXPECT_EQ(set.adc.range, AdcRange::Dynamic);
  EXPECT_EQ(chip_from(dir, "{}", {"adc.range=calibrated"}).adc.range, AdcRange::Calibrated);
}

TEST(ChipSpec, ChecksAcrossKeysNameTheOffendingKey) {
  TempDir dir;
  EXPECT_EQ(chip_error(dir, "crossbar:\n  rows: 64\n  rows_per_read: 128\n"),
            dir.file("chip.yaml") + ":3:18: crossbar.rows_per_read: must not exceed crossbar.rows (64)");
  EXPECT_EQ(chip_error(dir, "crossbar:\n  rows_per_read: 100\n", {"crossbar.rows=64"}),
            dir.file("chip.yaml") + ":2:18: crossbar.rows_per_read: must not exceed crossbar.rows (64)");
  EXPECT_EQ(chip_error(dir, "crossbar:\n  cols: 64\nadc:\n  columns_per_adc: 128\n"),
            dir.file("chip.yaml") + ":4:20: adc.columns_per_adc: must not exceed crossbar.cols (64)");
  EXPECT_EQ(chip_error(dir, "weights:\n  crossbar_write_time_ns: 100\n"),
            dir.file("chip.yaml") +
                ":2:27: weights.crossbar_write_time_ns: has no effect with weights.write_granularity: row");
  EXPECT_EQ(chip_error(dir, "noise:\n  shot: 1\n", {"crossbar.read_energy_fj_per_cell=0"}),
            dir.file("chip.yaml") + ":2:9: noise.shot: needs an energy per MAC: with "
                                    "crossbar.read_energy_fj_per_cell 0 the noise is unbounded");
}

TEST(ChipSpec, FingerprintFollowsValuesNotLabels) {
  TempDir dir;
  const ChipSpec base = chip_from(dir, "{}");
  EXPECT_EQ(base.fingerprint, chip_from(dir, "chip:\n  name: renamed\n").fingerprint);
  EXPECT_EQ(base.fingerprint, chip_from(dir, "crossbar:\n  rows: 128\n").fingerprint);  // the default, spelled out
  EXPECT_NE(base.fingerprint, chip_from(dir, "{}", {"crossbar.rows=64"}).fingerprint);
  EXPECT_EQ(base.fingerprint.size(), 16u);
}

// Fingerprints as computed before crossbar.rows_per_read and adc.range existed: chips that leave those at
// their defaults (the behaviour every chip had before) keep their cached costs, search runs and sweep
// databases. The empty description's fingerprint also pins every other default: changing one changes it,
// and re-keys every cache, so update it only for a change of the model that is meant.
TEST(ChipSpec, FingerprintsOfChipsDescribedBeforeTheReadGroupAndRangeKeysAreKept) {
  EXPECT_EQ(load_chip("cimaq_default").fingerprint, "5fbe518143b87409");
  EXPECT_EQ(load_chip("isaac").fingerprint, "391144f29fea2683");
  EXPECT_EQ(load_chip("neurosim_rram").fingerprint, "dfbcf099487706b7");
  TempDir dir;
  EXPECT_EQ(chip_from(dir, "{}").fingerprint, "1f03e057746b0b02");
  EXPECT_EQ(chip_from(dir, "crossbar: {rows: 128, rows_per_read: 128}\nadc: {range: full}\n").fingerprint,
            "1f03e057746b0b02");
  EXPECT_NE(chip_from(dir, "{}", {"crossbar.rows_per_read=32"}).fingerprint, "1f03e057746b0b02");
  EXPECT_NE(chip_from(dir, "{}", {"adc.range=dynamic"}).fingerprint, "1f03e057746b0b02");
  EXPECT_NE(chip_from(dir, "{}", {"adc.range=dynamic"}).fingerprint,
            chip_from(dir, "{}", {"adc.range=calibrated"}).fingerprint);
  // The noise keys came later still: off, they leave every fingerprint as it was.
  EXPECT_EQ(chip_from(dir, "noise: {programming: 0, read: 0, read_time_s: 20, unit_energy_fj: 1}\n").fingerprint,
            "1f03e057746b0b02");
  EXPECT_NE(chip_from(dir, "{}", {"noise.read=0.01"}).fingerprint, "1f03e057746b0b02");
}

TEST(ChipSpec, NoiseKeysResolveToTheArithmeticsUnits) {
  const ChipSpec chip = load_chip("cimaq_default", {"crossbar.cell_bits=2", "noise.programming=0.1",
                                                    "noise.read_time_s=200", "noise.drift_nu=0.05",
                                                    "crossbar.read_energy_fj_per_cell=3", "noise.unit_energy_fj=0.5"});
  const AnalogNoise noise = analog_noise(chip, {8, 8});
  EXPECT_DOUBLE_EQ(noise.programming_sigma, 0.3);  // of the top level 3
  EXPECT_DOUBLE_EQ(noise.drift_time_ratio, 10.0);  // 200 s after the 20 s reference
  EXPECT_NEAR(noise.drift_compensation(), std::pow(10.0, 0.05), 1e-12);
  EXPECT_DOUBLE_EQ(noise.energy_per_mac, 6.0);
  EXPECT_DOUBLE_EQ(analog_noise(chip, {8, 8, 0.25}).energy_per_mac, 0.5);  // the policy's energy
  EXPECT_TRUE(noise.any());
  EXPECT_FALSE(analog_noise(load_chip("cimaq_default"), {8, 8}).any());
  EXPECT_TRUE(analog_noise(load_chip("pcm"), {8, 8}).any());
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
