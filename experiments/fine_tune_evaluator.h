#pragma once

#include <memory>

#include <nlohmann/json.hpp>
#include <string>

#include "nn/data.h"
#include "nn/models.h"
#include "nn/trainer.h"
#include "search/search_run.h"

namespace qxbar {

// CIM-AQ's evaluation of a candidate policy: the network of a quantized (INT8) checkpoint under the
// policy, quantizers of changed layers calibrated afresh, fine-tuned on the search's training subset
// and validated on its validation subset. Every evaluation starts from the same weights and seed, so
// the accuracy depends on the policy alone. Given a chip, fine-tuning and validation compute as the chip
// does (chip-aware training).
//
// It also runs the one-shot methods from the same checkpoint on the same images, in ideal arithmetic even
// for a chip-aware search (they rank widths, the fine-tunes measure them): LIMPQ's indicators, with LSQ
// quantizers, and learned bit widths, with the checkpoint's quantizers. Their results are kept in
// `results_folder` (indicators.json, learned_bits.json) with a key of everything that shaped them, and read
// back instead of trained when the key matches.
class FineTuneEvaluator : public AccuracyEvaluator, public IndicatorSource, public BitWidthSource {
 public:
  FineTuneEvaluator(std::string checkpoint, DataSplits data, TrainOptions options,
                    std::shared_ptr<const ChipSpec> chip = nullptr, std::string results_folder = "");
  double accuracy(const Policy& policy) override;
  std::vector<LayerIndicators> indicators(const IndicatorRequest& request) override;
  LearnedWidths learned_widths(const BitWidthRequest& request) override;
  const ModelSpec& spec() const { return info_.spec; }

 private:
  // A fingerprint of what shapes every one-shot result (checkpoint, images, seed, batch and thread count)
  // and of `request`.
  std::string result_key(const nlohmann::json& request) const;
  std::string results_file(const char* name) const;
  std::string results_folder_;
  std::string checkpoint_;
  CheckpointInfo info_;
  DataSplits data_;
  TrainOptions options_;
  std::shared_ptr<const ChipSpec> chip_;
  bool show_progress_ = true;
};

// Indicators as text and back, exactly (doubles round-trip), to pass them between processes.
std::string encode_indicators(const std::vector<LayerIndicators>& layers);
std::vector<LayerIndicators> decode_indicators(const std::string& text);

}  // namespace qxbar
