#include "sim/core/yaml_reading.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/test_support.h"

namespace qxbar {
namespace {

using testing::TempDir;

TEST(YamlReading, ARepeatedKeyIsAnErrorAtItsSecondPlace) {
  const TempDir dir;
  const std::string path = dir.write("chip.yaml", "chip:\n  name: a\n  clock_mhz: 100\n  name: b\n");
  EXPECT_EQ(testing::error_message<ConfigError>([&] { load_yaml_file(path); }),
            path + ":4:3: name: repeated key (first at line 2)");
  // Inside sequences too, and in text from the command line.
  const std::string listed = dir.write("list.yaml", "layers:\n  - {w: 1, w: 2}\n");
  EXPECT_THROW(load_yaml_file(listed), ConfigError);
  EXPECT_THROW(load_yaml_text("{a: 1, a: 2}", "--set x"), ConfigError);
  // The same key in different mappings is no repetition.
  EXPECT_NO_THROW(load_yaml_file(dir.write("fine.yaml", "a: {name: 1}\nb: {name: 2}\n")));
}

TEST(YamlReading, AFolderIsNoFile) {
  const TempDir dir;
  const std::string folder = dir.file("chip.yaml");
  std::filesystem::create_directories(folder);
  EXPECT_EQ(testing::error_message<ConfigError>([&] { load_yaml_file(folder); }), folder + ": is a folder, not a file");
}

TEST(YamlReading, ASecondDocumentIsAnError) {
  const TempDir dir;
  const std::string path = dir.write("two.yaml", "a: 1\n---\nb: 2\n");
  EXPECT_EQ(testing::error_message<ConfigError>([&] { load_yaml_file(path); }),
            path + ":2:1: a second YAML document; a file holds one");
  EXPECT_TRUE(load_yaml_file(dir.write("empty.yaml", "")).IsNull());
}

TEST(YamlReading, AStreamTheParserCannotGetPastIsMalformedNotAnEndlessRead) {
  const TempDir dir;
  // yaml-cpp 0.7 yields an empty document for the stray comma, again and again, without consuming it.
  const std::string comma = dir.write("comma.yaml", "layer_dimensions:\n  - type: Conv2D\n,  input_dim: 9\n");
  EXPECT_THAT(testing::error_message<ConfigError>([&] { load_yaml_file(comma); }), ::testing::StartsWith(comma + ":"));
  EXPECT_THAT(testing::error_message<ConfigError>([&] { load_yaml_file(comma); }), ::testing::HasSubstr("malformed YAML"));
}

}  // namespace
}  // namespace qxbar
