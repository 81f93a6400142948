#include "experiments/fine_tune_evaluator.h"

#include "sim/core/errors.h"

namespace qxbar {

FineTuneEvaluator::FineTuneEvaluator(std::string checkpoint, DataSplits data, TrainOptions options,
                                     std::shared_ptr<const ChipSpec> chip)
    : checkpoint_(std::move(checkpoint)),
      info_(read_checkpoint_info(checkpoint_)),
      data_(std::move(data)),
      options_(options),
      chip_(std::move(chip)) {
  if (data_.val.size() == 0) throw ConfigError("--val-size: a search validates every policy, give it images (e.g. 5000)");
  // The test set stays untouched until the chosen policy is fine-tuned for good.
  data_.test = Dataset{};
  options_.show_progress = false;
}

double FineTuneEvaluator::accuracy(const Policy& policy) {
  torch::manual_seed(options_.seed);
  Model model(info_.spec);
  model.set_policy(policy);
  load_weights_from(model, checkpoint_);
  if (chip_) put_on_chip(model, chip_, data_.train, options_.batch_size);
  CheckpointInfo info = info_;
  info.history.clear();
  return train(model, data_, options_, info, "").val_accuracy;
}

}  // namespace qxbar
