#pragma once

#include <nlohmann/json_fwd.hpp>

#include <memory>
#include <string>

#include "nn/data.h"
#include "nn/trainer.h"
#include "search/algorithm.h"
#include "search/search_run.h"
#include "sim/chip_spec.h"
#include "sim/cost_cache.h"

namespace qxbar {

// Everything a policy search of a trained network needs, however it was asked for (qxbar search, a recipe).
struct PolicySearchRequest {
  std::string checkpoint;  // the quantized (INT8) model every candidate is fine-tuned from
  std::string network;     // the architecture the checkpoint must hold; empty: whichever it holds
  DataOptions data;        // train_size and val_size: the search's subsets
  ChipSpec chip;
  std::string engine = "systemc";
  std::shared_ptr<CostCache> cache;
  SpaceOptions space;
  bool cell_resolution = false;  // space.cell_bits from the chip
  AlgorithmOptions algorithm;
  TrainOptions finetune;  // per candidate; its seed is the algorithm's
  SearchSettings settings;  // run_key is derived here
};

// The DDPG settings as run fingerprints hold them: one value per parameter, in the table's order.
nlohmann::json ddpg_fingerprint(const DdpgOptions& options);

// Runs (or resumes) the search in settings.out_dir and writes search.json beside its history.
SearchResult search_policy(PolicySearchRequest request);

}  // namespace qxbar
