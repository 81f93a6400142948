#pragma once

#include <memory>
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
// It also trains LIMPQ's indicators, from the same checkpoint on the same images, with LSQ quantizers
// (ideal arithmetic even for a chip-aware search: the indicators rank widths, the fine-tunes measure them).
// They are kept in `indicators_path` with a key of everything that shaped them, and read back instead of
// trained when the key matches.
class FineTuneEvaluator : public AccuracyEvaluator, public IndicatorSource {
 public:
  FineTuneEvaluator(std::string checkpoint, DataSplits data, TrainOptions options,
                    std::shared_ptr<const ChipSpec> chip = nullptr, std::string indicators_path = "");
  double accuracy(const Policy& policy) override;
  std::vector<LayerIndicators> indicators(const IndicatorRequest& request) override;
  const ModelSpec& spec() const { return info_.spec; }

 private:
  std::string indicator_key(const IndicatorRequest& request) const;
  std::string indicators_path_;
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
