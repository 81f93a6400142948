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

// How each candidate policy is priced and fine-tuned.
struct CandidateOptions {
  std::string engine = "systemc";
  bool cell_resolution = false;  // weight bits only in multiples of the chip's cell bits
  std::int64_t train_size = 10000;  // the search's own subsets of the training set
  std::int64_t val_size = 5000;
  int finetune_epochs = 1;
  double finetune_lr = 0.01;
  std::int64_t batch_size = 128;
  bool analog = false;  // fine-tune and validate candidates as the chip computes
};

// Everything a policy search of a trained network needs, however it was asked for (qxbar search, a recipe).
struct PolicySearchRequest {
  std::string checkpoint;  // the quantized (INT8) model every candidate is fine-tuned from
  std::string network;     // the architecture the checkpoint must hold; empty: whichever it holds
  DataOptions data;        // name and folder; empty name: the checkpoint's dataset
  ChipSpec chip;
  std::shared_ptr<CostCache> cache;
  AlgorithmOptions algorithm;  // its seed also seeds the data split and fine-tuning
  SearchSettings settings;     // run_key is derived here
  SpaceOptions space;
  CandidateOptions candidates;
};

// The search's options in one list, as a recipe's search: section and the flags of `qxbar search` name
// them. Each algorithm's own parameters come from `algorithm.parameters(name)`.
OptionSet search_request_options(PolicySearchRequest& request);

// The options that shape a search's results, chosen algorithm's parameters included, as fingerprints hold
// them: `qxbar search` keys its run folder with them, a recipe its search stage.
nlohmann::json search_options_key(PolicySearchRequest request);

// What every candidate of the search is fine-tuned and validated on, and how: the request's search subsets
// of its dataset and its fine-tuning options, seeded by the algorithm's seed.
DataOptions candidate_data(const PolicySearchRequest& request);
TrainOptions candidate_finetune(const PolicySearchRequest& request);

// Runs (or resumes) the search in settings.out_dir and writes search.json beside its history.
SearchResult search_policy(PolicySearchRequest request);

}  // namespace qxbar
