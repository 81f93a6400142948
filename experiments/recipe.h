#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "experiments/policy_search.h"
#include "nn/models.h"

namespace qxbar {

// What `qxbar run` does, read strictly from experiments/*.yaml: FP32 pretraining, INT8 QAT, the policy
// search, the fine-tuning of the chosen policy on the full training set, and evaluation. Every key is
// optional; the defaults of the groups are those of the command-line tools, the stages' own are below.
struct Recipe {
  std::string chip = "cimaq_default";  // preset name or chip file (relative to the recipe's folder)
  std::vector<std::string> chip_set;   // dotted chip keys overridden as key=value
  std::uint64_t seed = 0;
  NetworkOptions network;
  DataOptions data;  // train_size/val_size of pretraining and the final fine-tune
  TrainOptions fp32 = stage(8, 0.05);
  std::string fp32_from;  // a checkpoint of pretrained weights the FP32 stage starts from (fp32.from)
  TrainOptions int8 = stage(2, 0.01);
  PolicySearchRequest search;  // options only: checkpoint, chip, data and folder are the workflow's
  TrainOptions finetune = stage(2, 0.01);
  ChipTestOptions chip_test;  // how the final policy is tested as the chip computes

  static TrainOptions stage(int epochs, double lr) {
    TrainOptions options;
    options.epochs = epochs;
    options.lr = lr;
    return options;
  }
};

// One mapping of a recipe and the options it holds: "" is the top level, "search.ddpg" is nested in
// "search". The reader, the writer and the stage keys all walk this one list.
struct RecipeSection {
  std::string key;
  OptionSet options;
};
std::vector<RecipeSection> recipe_sections(Recipe& recipe);

// Reads a recipe file, then applies `overrides` ("dotted.key=value", validated like the file's values).
Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides = {});

// The recipe as YAML, every key written out: the resolved recipe a run folder keeps. Reading it back
// gives the same recipe.
std::string recipe_yaml_text(Recipe recipe);

}  // namespace qxbar
