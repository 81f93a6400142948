#include "experiments/sweep_plan.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

#include "sim/chip_schema.h"
#include "sim/chip_spec.h"
#include "sim/core/fingerprint.h"
#include "sim/core/yaml_reading.h"
#include "sim/engines.h"
#include "sim/store/sweep_store.h"

namespace qxbar {
namespace {

std::vector<SweepEntry> entries(const YAML::Node& node, const std::string& file, const std::string& key) {
  if (!node.IsSequence() || node.size() == 0) {
    throw ConfigError(located_message(location_of(node, file), key, "expected a non-empty list"));
  }
  std::vector<SweepEntry> entries;
  for (const YAML::Node& item : node) {
    const SourceLocation where = location_of(item, file);
    const std::string item_key = key + "[" + std::to_string(entries.size()) + "]";
    entries.push_back({scalar_text(item, where, item_key), where, item_key});
  }
  return entries;
}

// A file a sweep names is looked for beside the sweep file first, so the sweep means the same from any
// working directory.
std::string resolve_beside(const std::string& entry, const std::filesystem::path& folder) {
  const std::filesystem::path beside = folder / entry;
  return std::filesystem::exists(beside) ? beside.string() : entry;
}

std::string content_fingerprint(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream contents;
  contents << file.rdbuf();
  return fingerprint_hex(contents.str());
}

// A file entry stands for its contents: editing a policy file makes a new plan, not a mix of two.
std::string identity_of(const std::string& entry) {
  return std::filesystem::is_regular_file(entry) ? "file:" + content_fingerprint(entry) : entry;
}

SweepAccuracy accuracy_section(const YAML::Node& node, const std::string& file, const std::filesystem::path& folder) {
  StrictMap map(node, file, "accuracy");
  SweepAccuracy accuracy;
  const YAML::Node checkpoint = map.take("checkpoint");
  accuracy.checkpoint.where = location_of(checkpoint, file);
  accuracy.checkpoint.name = resolve_beside(scalar_text(checkpoint, accuracy.checkpoint.where, accuracy.checkpoint.key), folder);
  accuracy.content = accuracy.checkpoint.load([](const std::string& path) {
    if (!std::filesystem::is_regular_file(path)) throw ConfigError(path + ": no such checkpoint");
    return content_fingerprint(path);
  });
  read_options(map, chip_test_options(accuracy.test));
  map.reject_unknown_keys();
  return accuracy;
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

std::vector<SweepAxis> read_grid(const YAML::Node& grid, const std::string& path) {
  std::vector<SweepAxis> axes;
  if (!grid.IsMap() || grid.size() == 0) throw ConfigError(located_message(location_of(grid, path), "grid", "expected chip keys with lists of values"));
  for (const auto& entry : grid) {
    const std::string key = entry.first.Scalar();
    if (find_chip_key(key) == nullptr) {
      const std::string hint = closest_chip_key(key);
      throw ConfigError(located_message(location_of(entry.first, path), "grid." + key,
                                        "not a chip key" + (hint.empty() ? std::string() : " (did you mean " + hint + "?)")));
    }
    SweepAxis axis{key, {}};
    for (const SweepEntry& value : entries(entry.second, path, "grid." + key)) axis.values.push_back(value.name);
    axes.push_back(std::move(axis));
  }
  return axes;
}

SweepPlan load_sweep(const std::string& path) {
  const YAML::Node root = load_yaml_file(path);
  StrictMap map(root, path, "");
  SweepPlan plan;
  const YAML::Node chip = map.take_optional("chip");
  plan.base_chip.where = chip ? location_of(chip, path) : SourceLocation{path};
  if (chip) plan.base_chip.name = scalar_text(chip, plan.base_chip.where, plan.base_chip.key);
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (std::filesystem::path(plan.base_chip.name).has_extension() && std::filesystem::exists(folder / plan.base_chip.name)) {
    plan.base_chip.name = (folder / plan.base_chip.name).string();
  }
  const YAML::Node grid = map.take("grid");
  plan.axes = read_grid(grid, path);
  for (SweepEntry& network : entries(map.take("networks"), path, "networks")) {
    network.name = resolve_beside(network.name, folder);
    plan.networks.push_back(std::move(network));
  }
  for (SweepEntry& policy : entries(map.take("policies"), path, "policies")) {
    if (policy.name.find(',') == std::string::npos) policy.name = resolve_beside(policy.name, folder);
    plan.policies.push_back(std::move(policy));
  }
  // Every point is held in memory and priced: a grid is bounded before it is expanded.
  std::int64_t points = 1;
  std::string factors;
  const auto count = [&](std::size_t size, const std::string& what) {
    factors += (factors.empty() ? "" : " x ") + std::to_string(size) + " " + what;
    if (__builtin_mul_overflow(points, static_cast<std::int64_t>(size), &points) || points > kMaxSweepPoints) {
      throw ConfigError(located_message(location_of(grid, path), "grid",
                                        "more than the " + std::to_string(kMaxSweepPoints) + " points a sweep may hold (" +
                                            factors + (points > kMaxSweepPoints ? " = " + std::to_string(points) : std::string(" and more")) + ")"));
    }
  };
  for (const SweepAxis& axis : plan.axes) count(axis.values.size(), axis.key);
  count(plan.networks.size(), "networks");
  count(plan.policies.size(), "policies");
  if (const YAML::Node engine = map.take_optional("engine")) {
    plan.engine = scalar_text(engine, location_of(engine, path), "engine");
    const std::vector<std::string> engines = cost_engine_names();
    if (std::find(engines.begin(), engines.end(), plan.engine) == engines.end()) {
      throw ConfigError(located_message(location_of(engine, path), "engine", "unknown engine '" + plan.engine + "' (choose analytical or systemc)"));
    }
  }
  if (const YAML::Node accuracy = map.take_optional("accuracy")) plan.accuracy = accuracy_section(accuracy, path, folder);
  map.reject_unknown_keys();
  // The table's layout, and the base chip by its resolved values (a preset is a file too).
  std::string identity = sweep_table_layout() + "|" +
                         plan.base_chip.load([](const std::string& chip) { return load_chip(chip).fingerprint; }) + "|" + plan.engine;
  for (const SweepAxis& axis : plan.axes) {
    identity += "|" + axis.key;
    for (const std::string& value : axis.values) identity += "," + value;
  }
  for (const SweepEntry& network : plan.networks) identity += "|n:" + identity_of(network.name);
  for (const SweepEntry& policy : plan.policies) identity += "|p:" + identity_of(policy.name);
  if (plan.accuracy) {
    ChipTestOptions test = plan.accuracy->test;
    identity += "|a:" + plan.accuracy->content + run_key_json(chip_test_options(test)).dump();
  }
  plan.fingerprint = fingerprint_hex(identity);
  return plan;
}

std::vector<std::string> SweepPlan::keys() const {
  std::vector<std::string> keys;
  for (const SweepAxis& axis : axes) keys.push_back(axis.key);
  return keys;
}

ChipSpec grid_chip(ChipDescription base, const std::vector<SweepAxis>& axes, const std::vector<std::string>& values) {
  for (std::size_t axis = 0; axis < axes.size(); ++axis) base.apply_override(axes[axis].key + "=" + values[axis]);
  return base.resolve();
}

std::vector<std::vector<std::string>> grid_chips(const std::vector<SweepAxis>& axes) {
  std::vector<std::vector<std::string>> chips;
  std::vector<std::size_t> digits(axes.size(), 0);
  for (;;) {
    std::vector<std::string> values;
    for (std::size_t axis = 0; axis < axes.size(); ++axis) values.push_back(axes[axis].values[digits[axis]]);
    chips.push_back(std::move(values));
    std::size_t axis = axes.size();
    while (axis > 0 && ++digits[axis - 1] == axes[axis - 1].values.size()) digits[--axis] = 0;
    if (axis == 0) return chips;
  }
}

std::vector<SweepPoint> expand(const SweepPlan& plan) {
  std::vector<SweepPoint> points;
  for (const std::vector<std::string>& values : grid_chips(plan.axes)) {
    for (const SweepEntry& network : plan.networks) {
      for (const SweepEntry& policy : plan.policies) points.push_back({points.size(), values, network.name, policy.name});
    }
  }
  return points;
}

std::vector<std::size_t> deal(std::size_t points, std::size_t shard, std::size_t shards) {
  std::vector<std::size_t> order(points);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [](std::size_t a, std::size_t b) { return splitmix64(a) < splitmix64(b); });
  std::vector<std::size_t> mine;
  for (std::size_t position = shard; position < points; position += shards) mine.push_back(order[position]);
  std::sort(mine.begin(), mine.end());
  return mine;
}

}  // namespace qxbar
