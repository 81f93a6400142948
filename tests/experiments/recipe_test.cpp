#include "experiments/recipe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>

#include "search/ddpg.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

std::vector<std::string> shipped_recipes() {
  std::vector<std::string> recipes;
  for (const auto& entry : std::filesystem::directory_iterator(testing::source_path("experiments"))) {
    if (entry.path().extension() == ".yaml") recipes.push_back(entry.path().string());
  }
  std::sort(recipes.begin(), recipes.end());
  return recipes;
}

// Every scalar of `source` at its dotted path, e.g. "search.batch_size" -> "256".
void scalars(const YAML::Node& node, const std::string& path, std::map<std::string, std::string>& out) {
  if (node.IsMap()) {
    for (const auto& item : node) scalars(item.second, (path.empty() ? "" : path + ".") + item.first.as<std::string>(), out);
  } else if (node.IsScalar()) {
    out[path] = node.Scalar();
  }
}

TEST(Recipe, EveryShippedRecipeReadsBackAsWritten) {
  const testing::TempDir dir;
  ASSERT_GE(shipped_recipes().size(), 3u);
  for (const std::string& path : shipped_recipes()) {
    SCOPED_TRACE(path);
    const std::string written = recipe_yaml_text(load_recipe(path));
    const std::string again = recipe_yaml_text(load_recipe(dir.write("resolved.yaml", written)));
    EXPECT_EQ(again, written);

    // Every value the file sets is in the resolved recipe at the same key, read by yaml-cpp alone.
    std::map<std::string, std::string> given;
    std::map<std::string, std::string> resolved;
    scalars(YAML::LoadFile(path), "", given);
    scalars(YAML::Load(written), "", resolved);
    for (const auto& [key, value] : given) {
      if (key == "chip") continue;  // a chip file is resolved beside the recipe
      ASSERT_EQ(resolved.count(key), 1u) << key;
      // Numbers may be written in another form (0.0005 as 5e-04); they must read back as the same number.
      double given_number = 0;
      if (YAML::convert<double>::decode(YAML::Load(value), given_number)) {
        EXPECT_EQ(YAML::Load(resolved.at(key)).as<double>(), given_number) << key;
      } else {
        EXPECT_EQ(resolved.at(key), value) << key;
      }
    }
  }
}

TEST(Recipe, SearchBatchSizeAndAlgorithmParametersSurviveTheRoundTrip) {
  const testing::TempDir dir;
  const std::string path = dir.write("r.yaml", "search: {batch_size: 256, algo: random, ddpg: {tau: 0.02}}\n");
  const Recipe back = load_recipe(dir.write("back.yaml", recipe_yaml_text(load_recipe(path))));
  EXPECT_EQ(back.search.candidates.batch_size, 256);
  EXPECT_EQ(back.search.algorithm.name, "random");
  const auto& ddpg = dynamic_cast<const ParametersOf<DdpgOptions>&>(back.search.algorithm.parameters("ddpg"));
  EXPECT_DOUBLE_EQ(ddpg.values.tau, 0.02);
}

TEST(Recipe, OverridesAreCheckedLikeTheFile) {
  const testing::TempDir dir;
  const std::string path = dir.write("r.yaml", "seed: 3\n");
  EXPECT_EQ(load_recipe(path, {"search.episodes=7", "finetune.epochs=0"}).search.settings.episodes, 7);
  EXPECT_THAT(testing::error_message<ConfigError>([&] { load_recipe(path, {"fp32.epochs=0"}); }),
              ::testing::HasSubstr("fp32.epochs: must be in [1, inf), got 0"));
  EXPECT_THAT(testing::error_message<ConfigError>([&] { load_recipe(path, {"search.algo=annealing"}); }),
              ::testing::HasSubstr("search.algo: unknown value 'annealing' (choose ddpg, random, memory, limpq or learned-bits)"));
  EXPECT_EQ(load_recipe(path, {"chip_test.noise_seeds=5"}).chip_test.noise_seeds, 5);
  EXPECT_EQ(load_recipe(path).chip_test.noise_seeds, 1);
  EXPECT_THAT(testing::error_message<ConfigError>([&] { load_recipe(path, {"chip_test.noise_seeds=0"}); }),
              ::testing::HasSubstr("chip_test.noise_seeds: must be in [1, inf), got 0"));
}

TEST(Recipe, CostBudgetsAreAListOrOneNumber) {
  const testing::TempDir dir;
  const std::string list = dir.write("list.yaml", "search:\n  algo: limpq\n  cost_budget: [0.3, 0.5]\n");
  EXPECT_EQ(load_recipe(list).search.settings.cost_budget.values, (std::vector<double>{0.3, 0.5}));
  const std::string one = dir.write("one.yaml", "search:\n  cost_budget: 0.4\n");
  EXPECT_EQ(load_recipe(one).search.settings.cost_budget.values, (std::vector<double>{0.4}));
  EXPECT_EQ(load_recipe(one, {"search.cost_budget=0.2,0.6"}).search.settings.cost_budget.values, (std::vector<double>{0.2, 0.6}));
  EXPECT_TRUE(load_recipe(dir.write("none.yaml", "seed: 1\n")).search.settings.cost_budget.values.empty());
  EXPECT_THAT(testing::error_message<ConfigError>([&] { load_recipe(one, {"search.cost_budget=0.2,x"}); }),
              ::testing::HasSubstr("search.cost_budget: expected numbers separated by commas, got '0.2,x'"));
  const std::string zero = dir.write("zero.yaml", "search:\n  cost_budget: [0.3, 0]\n");
  EXPECT_THAT(testing::error_message<ConfigError>([&] { load_recipe(zero); }),
              ::testing::HasSubstr("zero.yaml:2:16: search.cost_budget: each must be in (0, inf), got 0"));
}

TEST(Recipe, ChangingAnAlgorithmParameterChangesTheRunKeyOnlyForThatAlgorithm) {
  Recipe recipe;
  const nlohmann::json before = search_options_key(recipe.search);
  dynamic_cast<ParametersOf<DdpgOptions>&>(recipe.search.algorithm.parameters("ddpg")).values.tau = 0.5;
  EXPECT_NE(search_options_key(recipe.search), before);
  recipe.search.algorithm.name = "random";
  const nlohmann::json random_key = search_options_key(recipe.search);
  dynamic_cast<ParametersOf<DdpgOptions>&>(recipe.search.algorithm.parameters("ddpg")).values.tau = 0.01;
  EXPECT_EQ(search_options_key(recipe.search), random_key);
}

}  // namespace
}  // namespace qxbar
