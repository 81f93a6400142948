#include "experiments/recipe.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>

#include "search/memory_search.h"
#include "sim/core/yaml_reading.h"

namespace qxbar {
namespace {

OptionSet concatenated(std::vector<OptionSet> groups) {
  OptionSet all;
  for (OptionSet& group : groups) all.insert(all.end(), group.begin(), group.end());
  return all;
}

// A recipe stage trains with the recipe's seed, so its table leaves the seed out.
OptionSet stage_options(TrainOptions& stage, int minimum_epochs) {
  OptionSet options = training_options(stage);
  options.erase(std::remove_if(options.begin(), options.end(),
                               [](const BoundOption& option) { return std::string(option.key) == "seed"; }),
                options.end());
  option_named(options, "epochs").bounds.minimum = minimum_epochs;
  return options;
}

std::string parent_of(const std::string& section) {
  const std::size_t dot = section.rfind('.');
  return dot == std::string::npos ? "" : section.substr(0, dot);
}

std::string leaf_of(const std::string& section) { return section.substr(section.rfind('.') + 1); }

// Reads whatever keys a mapping has into `recipe`, leaving the others as they are; used for the file and
// again for each override, so both are checked the same way.
void read_recipe(Recipe& recipe, const YAML::Node& root, const std::string& file) {
  std::vector<RecipeSection> sections = recipe_sections(recipe);
  std::map<std::string, StrictMap> maps;
  maps.emplace("", StrictMap(root, file, ""));
  std::vector<std::string> present = {""};
  for (const RecipeSection& section : sections) {
    if (section.key.empty()) continue;
    const auto parent = maps.find(parent_of(section.key));
    if (parent == maps.end()) continue;
    if (const YAML::Node node = parent->second.take_optional(leaf_of(section.key))) {
      maps.emplace(section.key, StrictMap(node, file, section.key));
      present.push_back(section.key);
    }
  }
  for (const RecipeSection& section : sections) {
    const auto map = maps.find(section.key);
    if (map != maps.end()) read_options(map->second, section.options);
  }
  StrictMap& top = maps.at("");
  if (const YAML::Node list = top.take_optional("chip_set")) {
    if (!list.IsSequence()) {
      throw ConfigError(located_message(location_of(list, file), "chip_set", "expected a list of key=value"));
    }
    recipe.chip_set.clear();
    for (const YAML::Node& item : list) recipe.chip_set.push_back(scalar_text(item, location_of(item, file), "chip_set"));
  }
  // Children first, so an unknown key is reported where it stands.
  for (auto key = present.rbegin(); key != present.rend(); ++key) maps.at(*key).reject_unknown_keys();
}

// "a.b=value" as the mapping {a: {b: value}}.
YAML::Node override_node(const std::string& assignment) {
  const std::size_t equals = assignment.find('=');
  if (equals == std::string::npos || equals == 0) {
    throw ConfigError("--set " + assignment + ": expected dotted.key=value");
  }
  const std::string origin = "--set " + assignment;
  YAML::Node value = load_yaml_text(assignment.substr(equals + 1), origin);
  std::istringstream path(assignment.substr(0, equals));
  std::vector<std::string> keys;
  for (std::string key; std::getline(path, key, '.');) keys.push_back(key);
  for (auto key = keys.rbegin(); key != keys.rend(); ++key) {
    YAML::Node parent(YAML::NodeType::Map);
    parent[*key] = value;
    value = parent;
  }
  return value;
}

void write_section(YAML::Emitter& out, const std::vector<RecipeSection>& sections, const RecipeSection& section,
                   const Recipe& recipe) {
  write_options(out, section.options);
  if (section.key.empty()) out << YAML::Key << "chip_set" << YAML::Value << YAML::Flow << recipe.chip_set;
  for (const RecipeSection& child : sections) {
    if (child.key.empty() || parent_of(child.key) != section.key) continue;
    const bool has_children = std::any_of(sections.begin(), sections.end(), [&](const RecipeSection& other) {
      return !other.key.empty() && parent_of(other.key) == child.key;
    });
    out << YAML::Key << leaf_of(child.key) << YAML::Value;
    if (!has_children) out << YAML::Flow;
    out << YAML::BeginMap;
    write_section(out, sections, child, recipe);
    out << YAML::EndMap;
  }
}

}  // namespace

std::vector<RecipeSection> recipe_sections(Recipe& recipe) {
  using R = Recipe;
  static const std::vector<Option<Recipe>> top = {
      {"chip", "hw", "chip: a preset name or a chip file beside the recipe", &R::chip},
      {"seed", "seed", "seed of every stage", &R::seed, {0}},
  };
  static const std::vector<Option<Recipe>> pretrained = {
      {"from", "", "a checkpoint of pretrained weights the FP32 stage starts from", &R::fp32_from},
  };
  std::vector<RecipeSection> sections = {
      {"", concatenated({bind_options(top, recipe), network_options(recipe.network)})},
      {"data", data_options(recipe.data)},
      {"fp32", concatenated({stage_options(recipe.fp32, 1), bind_options(pretrained, recipe)})},
      {"int8", stage_options(recipe.int8, 1)},
      {"search", search_request_options(recipe.search)},
  };
  for (const SearchAlgorithmEntry& entry : search_algorithms().entries()) {
    OptionSet parameters = recipe.search.algorithm.parameters(entry.name).options();
    if (!parameters.empty()) sections.push_back({std::string("search.") + entry.name, std::move(parameters)});
  }
  sections.push_back({"finetune", stage_options(recipe.finetune, 0)});
  sections.push_back({"chip_test", chip_test_options(recipe.chip_test)});
  return sections;
}

Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides) {
  Recipe recipe;
  read_recipe(recipe, load_yaml_file(path), path);
  for (const std::string& assignment : overrides) read_recipe(recipe, override_node(assignment), "--set " + assignment);
  const SpaceOptions& space = recipe.search.space;
  if (space.min_bits > space.max_bits) {
    throw ConfigError(path + ": search.min_bit " + std::to_string(space.min_bits) + " is above search.max_bit " +
                      std::to_string(space.max_bits));
  }
  const auto& memory = dynamic_cast<const ParametersOf<MemoryOptions>&>(recipe.search.algorithm.parameters("memory")).values;
  if (memory.weight_precision == weight_precisions()[1] && !recipe.network.per_channel) {
    throw ConfigError(path + ": search.memory.weight_precision: per-channel widths need a weight step per channel "
                      "(per_channel: true)");
  }
  // A chip file named in the recipe is found beside it.
  const std::filesystem::path chip(recipe.chip);
  if (chip.has_extension() && chip.is_relative()) {
    const std::filesystem::path beside = std::filesystem::path(path).parent_path() / chip;
    if (std::filesystem::exists(beside)) recipe.chip = beside.string();
  }
  return recipe;
}

std::string recipe_yaml_text(Recipe recipe) {
  const std::vector<RecipeSection> sections = recipe_sections(recipe);
  YAML::Emitter out;
  out << YAML::BeginMap;
  write_section(out, sections, sections.front(), recipe);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace qxbar
