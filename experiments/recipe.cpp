#include "experiments/recipe.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <sstream>
#include <type_traits>
#include <variant>

#include "nn/data.h"
#include "nn/models.h"
#include "sim/core/yaml_reading.h"
#include "sim/cost_engine.h"
#include "sim/engines.h"

namespace qxbar {
namespace {

// Reads whatever keys a mapping has into `recipe`, leaving the others as they are; used for the file and
// again for each override, so both are checked the same way.
class RecipeReader {
 public:
  RecipeReader(Recipe& recipe, std::string file) : recipe_(recipe), file_(std::move(file)) {}

  void read(const YAML::Node& root) {
    StrictMap map(root, file_, "");
    text(map, "chip", recipe_.chip);
    if (const YAML::Node list = map.take_optional("chip_set")) {
      if (!list.IsSequence()) throw ConfigError(located_message(location_of(list, file_), "chip_set", "expected a list of key=value"));
      recipe_.chip_set.clear();
      for (const YAML::Node& item : list) recipe_.chip_set.push_back(scalar_text(item, location_of(item, file_), "chip_set"));
    }
    choice(map, "network", recipe_.network, architecture_names());
    positive(map, "width", recipe_.width);
    choice(map, "quantizer", recipe_.quantizer, {"minmax", "mse", "pact", "lsq"});
    boolean(map, "per_channel", recipe_.per_channel);
    choice(map, "batch_norm", recipe_.batch_norm, {"folded", "separate"});
    unsigned_integer(map, "seed", recipe_.seed);
    if (const YAML::Node node = map.take_optional("data")) {
      StrictMap data(node, file_, "data");
      choice(data, "name", recipe_.data.name, dataset_names());
      text(data, "dir", recipe_.data.dir);
      integer(data, "train_size", recipe_.data.train_size, 0);
      integer(data, "val_size", recipe_.data.val_size, 0);
      data.reject_unknown_keys();
    }
    training(map, "fp32", recipe_.fp32, 1, &recipe_.fp32_from);
    training(map, "int8", recipe_.int8, 1);
    training(map, "finetune", recipe_.finetune, 0);
    if (const YAML::Node node = map.take_optional("search")) read_search(node);
    map.reject_unknown_keys();
  }

 private:
  void read_search(const YAML::Node& node) {
    StrictMap search(node, file_, "search");
    choice(search, "algo", recipe_.algorithm.name, algorithm_names());
    integer(search, "episodes", recipe_.episodes, 1);
    choice(search, "reward", recipe_.reward, {"latency", "energy", "edp"});
    real(search, "max_acc_drop", recipe_.max_accuracy_drop, 0.0);
    real(search, "cost_budget", recipe_.cost_budget, 0.0);
    integer(search, "min_bit", recipe_.space.min_bits, 1, kMaxPolicyBits);
    integer(search, "max_bit", recipe_.space.max_bits, 1, kMaxPolicyBits);
    boolean(search, "cell_resolution", recipe_.cell_resolution);
    boolean(search, "force_first_last", recipe_.space.force_first_last);
    integer(search, "train_size", recipe_.search_train_size, 0);
    integer(search, "val_size", recipe_.search_val_size, 1);
    integer(search, "finetune_epochs", recipe_.search_finetune.epochs, 0);
    positive(search, "finetune_lr", recipe_.search_finetune.lr);
    integer(search, "batch_size", recipe_.search_finetune.batch_size, 1);
    choice(search, "engine", recipe_.engine, cost_engine_names());
    if (const YAML::Node ddpg_node = search.take_optional("ddpg")) {
      StrictMap ddpg(ddpg_node, file_, "search.ddpg");
      DdpgOptions& options = recipe_.algorithm.ddpg;
      for (const DdpgParameter& parameter : ddpg_parameters()) {
        std::visit([&](auto field) {
          auto& target = options.*field;
          if constexpr (std::is_same_v<std::decay_t<decltype(target)>, int>) {
            integer(ddpg, parameter.key, target, static_cast<std::int64_t>(parameter.minimum));
          } else {
            read_real(ddpg, parameter.key, target, parameter.minimum, parameter.maximum, parameter.above_minimum);
          }
        }, parameter.field);
      }
      ddpg.reject_unknown_keys();
    }
    search.reject_unknown_keys();
  }

  void training(StrictMap& parent, const std::string& key, StageTraining& stage, int minimum_epochs, std::string* from = nullptr) {
    const YAML::Node node = parent.take_optional(key);
    if (!node) return;
    StrictMap map(node, file_, key);
    integer(map, "epochs", stage.epochs, minimum_epochs);
    positive(map, "lr", stage.lr);
    integer(map, "batch_size", stage.batch_size, 1);
    if (from != nullptr) text(map, "from", *from);
    map.reject_unknown_keys();
  }

  void text(StrictMap& map, const std::string& key, std::string& target) {
    if (const YAML::Node node = map.take_optional(key)) target = scalar_text(node, location_of(node, file_), map.key_path(key));
  }
  void boolean(StrictMap& map, const std::string& key, bool& target) {
    if (const YAML::Node node = map.take_optional(key)) target = scalar_bool(node, location_of(node, file_), map.key_path(key));
  }
  void choice(StrictMap& map, const std::string& key, std::string& target, const std::vector<std::string>& choices) {
    if (const YAML::Node node = map.take_optional(key)) {
      const std::string value = scalar_text(node, location_of(node, file_), map.key_path(key));
      if (std::find(choices.begin(), choices.end(), value) == choices.end()) {
        std::string known;
        for (const std::string& option : choices) known += (known.empty() ? "" : ", ") + option;
        fail(node, map.key_path(key), "unknown value '" + value + "' (choose " + known + ")");
      }
      target = value;
    }
  }
  // A real in [minimum, maximum].
  void real(StrictMap& map, const std::string& key, double& target, double minimum, double maximum = kUnbounded) {
    read_real(map, key, target, minimum, maximum, false);
  }
  // A real above zero and at most `maximum` (learning rates, rates of change, noise).
  void positive(StrictMap& map, const std::string& key, double& target, double maximum = kUnbounded) {
    read_real(map, key, target, 0.0, maximum, true);
  }
  void read_real(StrictMap& map, const std::string& key, double& target, double minimum, double maximum, bool above_minimum) {
    if (const YAML::Node node = map.take_optional(key)) {
      const double value = scalar_real(node, location_of(node, file_), map.key_path(key));
      if (value < minimum || value > maximum || (above_minimum && value == minimum)) {
        const std::string low = (above_minimum ? "(" : "[") + number_text(minimum);
        const std::string high = maximum == kUnbounded ? "inf)" : number_text(maximum) + "]";
        fail(node, map.key_path(key), "must be in " + low + ", " + high + ", got " + number_text(value));
      }
      target = value;
    }
  }
  static std::string number_text(double value) {
    std::ostringstream text;
    text << value;
    return text.str();
  }
  template <typename Integer>
  void integer(StrictMap& map, const std::string& key, Integer& target, std::int64_t minimum,
               std::int64_t maximum = std::numeric_limits<std::int64_t>::max()) {
    if (const YAML::Node node = map.take_optional(key)) {
      const std::int64_t value = scalar_integer(node, location_of(node, file_), map.key_path(key));
      if (value < minimum || value > maximum) {
        fail(node, map.key_path(key), maximum == std::numeric_limits<std::int64_t>::max()
                                          ? "must be >= " + std::to_string(minimum)
                                          : "must be " + std::to_string(minimum) + " to " + std::to_string(maximum));
      }
      target = static_cast<Integer>(value);
    }
  }
  void unsigned_integer(StrictMap& map, const std::string& key, std::uint64_t& target) { integer(map, key, target, 0); }
  static constexpr double kUnbounded = std::numeric_limits<double>::infinity();
  [[noreturn]] void fail(const YAML::Node& node, const std::string& key, const std::string& reason) const {
    throw ConfigError(located_message(location_of(node, file_), key, reason));
  }

  Recipe& recipe_;
  std::string file_;
};

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

}  // namespace

Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides) {
  Recipe recipe;
  RecipeReader(recipe, path).read(load_yaml_file(path));
  for (const std::string& assignment : overrides) RecipeReader(recipe, "--set " + assignment).read(override_node(assignment));
  if (recipe.space.min_bits > recipe.space.max_bits) {
    throw ConfigError(path + ": search.min_bit " + std::to_string(recipe.space.min_bits) + " is above search.max_bit " +
                      std::to_string(recipe.space.max_bits));
  }
  // A chip file named in the recipe is found beside it.
  const std::filesystem::path chip(recipe.chip);
  if (chip.has_extension() && chip.is_relative()) {
    const std::filesystem::path beside = std::filesystem::path(path).parent_path() / chip;
    if (std::filesystem::exists(beside)) recipe.chip = beside.string();
  }
  return recipe;
}

std::string recipe_yaml_text(const Recipe& r) {
  YAML::Emitter out;
  const auto entry = [&](const char* key, const auto& value) {
    out << YAML::Key << key << YAML::Value;
    // The shortest text that reads back as the number (0.99, where the emitter's 17 digits print
    // 0.98999999999999999), so the resolved recipe shows numbers as they were written.
    if constexpr (std::is_floating_point_v<std::decay_t<decltype(value)>>) {
      out << fmt::format("{}", value);
    } else {
      out << value;
    }
  };
  const auto stage = [&](const char* key, const StageTraining& s, const std::string& from = "") {
    out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginMap;
    entry("epochs", s.epochs);
    entry("lr", s.lr);
    entry("batch_size", s.batch_size);
    if (!from.empty()) entry("from", from);
    out << YAML::EndMap;
  };
  out << YAML::BeginMap;
  entry("chip", r.chip);
  out << YAML::Key << "chip_set" << YAML::Value << YAML::Flow << r.chip_set;
  entry("network", r.network);
  entry("width", r.width);
  entry("quantizer", r.quantizer);
  entry("per_channel", r.per_channel);
  entry("batch_norm", r.batch_norm);
  entry("seed", r.seed);
  out << YAML::Key << "data" << YAML::Value << YAML::Flow << YAML::BeginMap;
  entry("name", r.data.name);
  entry("dir", r.data.dir);
  entry("train_size", r.data.train_size);
  entry("val_size", r.data.val_size);
  out << YAML::EndMap;
  stage("fp32", r.fp32, r.fp32_from);
  stage("int8", r.int8);
  out << YAML::Key << "search" << YAML::Value << YAML::BeginMap;
  entry("algo", r.algorithm.name);
  entry("episodes", r.episodes);
  entry("reward", r.reward);
  entry("max_acc_drop", r.max_accuracy_drop);
  entry("cost_budget", r.cost_budget);
  entry("min_bit", r.space.min_bits);
  entry("max_bit", r.space.max_bits);
  entry("cell_resolution", r.cell_resolution);
  entry("force_first_last", r.space.force_first_last);
  entry("train_size", r.search_train_size);
  entry("val_size", r.search_val_size);
  entry("finetune_epochs", r.search_finetune.epochs);
  entry("finetune_lr", r.search_finetune.lr);
  entry("engine", r.engine);
  out << YAML::Key << "ddpg" << YAML::Value << YAML::Flow << YAML::BeginMap;
  for (const DdpgParameter& parameter : ddpg_parameters()) {
    std::visit([&](auto field) { entry(parameter.key, r.algorithm.ddpg.*field); }, parameter.field);
  }
  out << YAML::EndMap;
  out << YAML::EndMap;
  stage("finetune", r.finetune);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace qxbar
