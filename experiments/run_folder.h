#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <utility>

#include "experiments/recipe.h"
#include "nn/data.h"
#include "sim/core/file_lock.h"

namespace qxbar {

// A stage folder of a run: `key` fingerprints the stage's inputs (and those of the stages before it); the
// folder is cleared when they change. `extent` is what may grow without starting over (a search's
// episodes). stage.json is written last, so its presence with the same key and extent means the stage is
// done.
class Stage {
 public:
  Stage(const std::filesystem::path& run, const std::string& name, std::string key, const std::string& extent = "");

  // What the stages after this one depend on.
  const std::string& key() const { return done_key_; }
  std::string directory() const { return dir_.string(); }
  std::string path(const std::string& file) const { return (dir_ / file).string(); }

  // The stage's results when it finished with these inputs before.
  std::optional<nlohmann::ordered_json> finished() const;
  nlohmann::ordered_json finish(nlohmann::ordered_json results) const;

 private:
  std::filesystem::path dir_;
  std::string name_;
  std::string key_;
  std::string done_key_;
};

// A stage key of its inputs.
std::string key_of(const nlohmann::ordered_json& inputs);

// The network a recipe trains, in floating point or quantized.
ModelSpec model_spec(const Recipe& recipe, bool quantized);

// A recipe's stages in one run folder, locked while this lives: fp32 and int8 once, then a search and its
// final stage per algorithm (one for `qxbar run`, several for `qxbar compare`), or what another command
// builds on the INT8 model (`qxbar codesign`).
class RecipeRun {
 public:
  RecipeRun(const Recipe& recipe, const std::string& recipe_path, const std::string& directory, bool resume);
  // A run that fails before it has trained anything leaves no folder behind where it found none, so the
  // same command, mended, runs without --resume.
  ~RecipeRun();
  RecipeRun(const RecipeRun&) = delete;
  RecipeRun& operator=(const RecipeRun&) = delete;

  const ChipSpec& chip() const { return chip_; }
  const std::filesystem::path& folder() const { return run_; }

  // The fp32 and int8 stages; returns their test accuracies.
  std::pair<double, double> prepare();
  // After prepare(): the INT8 stage, whose model every search starts from.
  const Stage& int8_stage() const;

  // The recipe's search request for `algorithm`, from the INT8 model, after prepare().
  PolicySearchRequest search_request(const std::string& algorithm) const;

  // What one algorithm's search and final stage came to: both stages' results in one object, the chosen
  // policy and the search's folder.
  struct Finished {
    nlohmann::ordered_json results;
    Policy policy;
    std::string search_directory;
  };

  // The recipe's search with `algorithm` in stage `name`, then its chosen policy fine-tuned and tested in
  // stage `final_name`.
  Finished search_and_finish(const std::string& algorithm, const std::string& name, const std::string& final_name);

 private:
  // Read only by the stages that run, so a finished run reports without loading anything.
  const DataSplits& full_data();

  const Recipe& recipe_;
  std::string recipe_path_;
  std::filesystem::path run_;
  bool folder_was_new_;          // absent or empty before this run
  int exceptions_at_start_;      // std::uncaught_exceptions() when constructed
  FileLock lock_;
  ChipSpec chip_;
  DataOptions full_ = recipe_.data;
  std::optional<DataSplits> loaded_;
  std::optional<Stage> int8_stage_;
};

}  // namespace qxbar
