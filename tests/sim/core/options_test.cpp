#include "sim/core/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "sim/core/errors.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

struct Example {
  int count = 3;
  std::int64_t images = 10000;
  std::uint64_t seed = 7;
  double rate = 0.99;
  bool flag = false;
  std::string kind = "a";
  int minutes = 10;
};

std::vector<std::string> kinds() { return {"a", "b"}; }

const std::vector<Option<Example>>& example_options() {
  using E = Example;
  static const std::vector<Option<Example>> table = {
      {"count", "count", "a count", &E::count, {1}},
      {"images", "images", "images", &E::images, {0}},
      {"seed", "seed", "seed", &E::seed, {0}},
      {"rate", "rate", "a rate", &E::rate, {0, 1, true}},
      {"flag", "flag", "a switch", &E::flag},
      {"kind", "kind", "a choice", &E::kind, {}, kinds},
      {"minutes", "minutes", "no effect on results", &E::minutes, {0}, nullptr, false},
  };
  return table;
}

Example read(const std::string& text) {
  Example example;
  StrictMap map(load_yaml_text(text, "example.yaml"), "example.yaml", "group");
  read_options(map, bind_options(example_options(), example));
  map.reject_unknown_keys();
  return example;
}

std::string write(Example example) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  write_options(out, bind_options(example_options(), example));
  out << YAML::EndMap;
  return out.c_str();
}

TEST(Options, ReadsEveryTypeAndLeavesAbsentKeysAtTheirDefaults) {
  const Example example = read("{count: 5, rate: 0.5, flag: true, kind: b}");
  EXPECT_EQ(example.count, 5);
  EXPECT_EQ(example.images, 10000);
  EXPECT_DOUBLE_EQ(example.rate, 0.5);
  EXPECT_TRUE(example.flag);
  EXPECT_EQ(example.kind, "b");
}

TEST(Options, OutOfRangeValuesNameTheFileLineAndKey) {
  EXPECT_THAT(testing::error_message<ConfigError>([&] { read("{count: 0}"); }), ::testing::HasSubstr("example.yaml:1:9: group.count: must be in [1, inf), got 0"));
  EXPECT_THAT(testing::error_message<ConfigError>([&] { read("{rate: 0}"); }), ::testing::HasSubstr("group.rate: must be in (0, 1], got 0"));
  EXPECT_THAT(testing::error_message<ConfigError>([&] { read("{kind: c}"); }), ::testing::HasSubstr("group.kind: unknown value 'c' (choose a or b)"));
  EXPECT_THAT(testing::error_message<ConfigError>([&] { read("{seed: -1}"); }), ::testing::HasSubstr("group.seed: must be in [0, inf), got -1"));
  // A value past int's range is refused, not wrapped into range.
  EXPECT_THAT(testing::error_message<ConfigError>([&] { read("{count: 4294967297}"); }), ::testing::HasSubstr("group.count: must be in [1, inf), got 4294967297"));
}

TEST(Options, WrittenValuesReadBackEqual) {
  Example changed;
  changed.count = 12;
  changed.rate = 0.1 + 0.2;  // needs 17 digits to read back exactly
  changed.kind = "b";
  changed.seed = 9007199254740993ULL;  // 2^53 + 1: no double holds it
  const std::string text = write(changed);
  EXPECT_NE(text.find("rate: 0.30000000000000004"), std::string::npos) << text;
  EXPECT_NE(text.find("seed: 9007199254740993"), std::string::npos) << text;
  const Example back = read(text);
  EXPECT_EQ(write(back), text);
  EXPECT_EQ(back.rate, changed.rate);
}

TEST(Options, ShortNumbersAreWrittenAsTyped) {
  EXPECT_NE(write(Example()).find("rate: 0.99\n"), std::string::npos);
}

TEST(Options, RunKeysLeaveOutOptionsThatCannotChangeResults) {
  Example example;
  const nlohmann::json key = run_key_json(bind_options(example_options(), example));
  EXPECT_EQ(key.size(), example_options().size() - 1);
  EXPECT_FALSE(key.contains("minutes"));
  EXPECT_EQ(key.at("images"), 10000);
}

TEST(Options, FlagErrorsNameTheFlag) {
  Example example;
  example.rate = 2;
  EXPECT_THAT(testing::error_message<ConfigError>([&] { check_flags(bind_options(example_options(), example)); }), ::testing::HasSubstr("--rate: must be in (0, 1], got 2"));
}

}  // namespace
}  // namespace qxbar
