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
class FineTuneEvaluator : public AccuracyEvaluator {
 public:
  FineTuneEvaluator(std::string checkpoint, DataSplits data, TrainOptions options,
                    std::shared_ptr<const ChipSpec> chip = nullptr);
  double accuracy(const Policy& policy) override;
  const ModelSpec& spec() const { return info_.spec; }

 private:
  std::string checkpoint_;
  CheckpointInfo info_;
  DataSplits data_;
  TrainOptions options_;
  std::shared_ptr<const ChipSpec> chip_;
};

}  // namespace qxbar
