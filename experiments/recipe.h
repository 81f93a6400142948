#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "experiments/policy_search.h"

namespace qxbar {

// One training stage of a recipe.
struct StageTraining {
  int epochs = 0;
  double lr = 0.01;
  std::int64_t batch_size = 128;
};

// What `qxbar run` does, read strictly from experiments/*.yaml: FP32 pretraining, INT8 QAT, the policy
// search, the fine-tuning of the chosen policy on the full training set, and evaluation. Every key is
// optional; the defaults below are the quickstart's.
struct Recipe {
  std::string chip = "cimaq_default";    // preset name or chip file (relative to the recipe's folder)
  std::vector<std::string> chip_set;     // dotted chip keys overridden as key=value
  std::string network = "lenet5";
  double width = 1.0;
  DataOptions data{"fashion-mnist", "", 0, 5000, 0};  // train_size/val_size of pretraining and the final fine-tune
  std::uint64_t seed = 0;
  std::string quantizer = "pact";
  bool per_channel = false;
  std::string batch_norm = "folded";  // or "separate": see QuantOptions::fold_batch_norm
  StageTraining fp32{8, 0.05, 128};
  std::string fp32_from;  // a checkpoint of pretrained weights the FP32 stage starts from (fp32.from)
  StageTraining int8{2, 0.01, 128};
  // The search stage: its own data subsets, fine-tuning per candidate, space, reward and algorithm.
  std::int64_t search_train_size = 10000;
  std::int64_t search_val_size = 5000;
  StageTraining search_finetune{1, 0.01, 128};
  std::string engine = "systemc";
  SpaceOptions space;
  bool cell_resolution = false;
  AlgorithmOptions algorithm;
  int episodes = 100;
  std::string reward = "latency";
  double max_accuracy_drop = 1.0;
  double cost_budget = 0;
  StageTraining finetune{2, 0.01, 128};
};

// Reads a recipe file, then applies `overrides` ("dotted.key=value", validated like the file's values).
Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides = {});

// The recipe as YAML, every key written out: the resolved recipe a run folder keeps.
std::string recipe_yaml_text(const Recipe& recipe);

}  // namespace qxbar
