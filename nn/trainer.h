#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "nn/data.h"
#include "nn/models.h"

namespace qxbar {

struct TrainOptions {
  int epochs = 10;
  double lr = 0.05;           // SGD with momentum, cosine-annealed to zero over the epochs
  double momentum = 0.9;
  double weight_decay = 5e-4;
  std::int64_t batch_size = 128;
  std::uint64_t seed = 0;
  bool show_progress = true;
  // Also checkpoint within an epoch this often (an ImageNet epoch takes hours); 0: after every batch.
  double checkpoint_minutes = 10;
};

// The learning rate of `epoch` (0-based) of `epochs`, cosine-annealed from `initial_lr` towards zero.
void set_cosine_learning_rate(torch::optim::SGD& optimizer, double initial_lr, int epoch, int epochs);

// The training options a command line or a recipe stage sets (recipes: <stage>.<key>; the seed is the
// recipe's own).
OptionSet training_options(TrainOptions& options);

struct EpochRecord {
  int epoch = 0;  // 1-based
  double loss = 0;
  double train_accuracy = 0;
  double val_accuracy = -1;  // -1 without a validation set
  double seconds = 0;
  double images_per_second = 0;
};

// How far an epoch had come when a checkpoint was saved within it.
struct EpochProgress {
  int epoch = -1;  // 0-based; -1: the checkpoint ends an epoch
  std::int64_t batches = 0;
  double loss_sum = 0;
  std::int64_t correct = 0;
  double seconds = 0;
};

// What a checkpoint records besides the tensors: enough to rebuild the model and to tell whether a run
// in the same folder is the same run.
struct CheckpointInfo {
  ModelSpec spec;
  std::string dataset;
  std::string run_key;  // everything that shapes the result except the epoch count
  // The chip whose arithmetic the forward passes computed (chip-aware training); empty: ideal arithmetic.
  std::string chip_name;
  std::string chip_fingerprint;
  int epochs_planned = 0;
  std::vector<EpochRecord> history;
  EpochProgress partial;
};

struct TrainResult {
  std::vector<EpochRecord> history;
  double val_accuracy = -1;
  double test_accuracy = 0;
  bool resumed = false;
  EpochProgress resumed_from;  // where a resumed run picked up (epoch -1: at an epoch's start)
};

// Throws DataError naming `checkpoint` when `data` cannot be fed to a model of `spec`: images of another
// shape (in memory), or labels beyond its classes.
void check_fits(const ModelSpec& spec, const Dataset& data, const std::string& checkpoint);

// Fraction of correctly classified images, in evaluation mode, without gradients.
double evaluate(Model& model, const Dataset& data, std::int64_t batch_size);

// How a trained model is tested as a chip computes it, as `qxbar eval` flags and a sweep's accuracy
// section name it.
struct ChipTestOptions {
  std::int64_t test_images = 0;  // the first N test images; 0: all of them
  std::int64_t calibration_images = 512;
  std::int64_t batch_size = 512;
  int noise_seeds = 1;
};
OptionSet chip_test_options(ChipTestOptions& options);

// Puts `model` on `chip` (Model::set_chip, which programs its weights anew) and, under adc.range:
// calibrated, fits the converters' ranges to the sums the first `calibration_images` images of
// `calibration` produce.
void put_on_chip(Model& model, const std::shared_ptr<const ChipSpec>& chip, const Dataset& calibration,
                 std::int64_t batch_size, std::int64_t calibration_images = ChipTestOptions{}.calibration_images);

// Test accuracy as a noisy chip computes it, over programmings of the chip: the mean and the sample
// standard deviation over `noise_seeds` repetitions, repetition s drawing its noise from LibTorch's
// generator seeded with s. A chip without noise is evaluated once (seeds 1, std 0).
struct ChipAccuracy {
  double mean = 0;
  double std = 0;
  int seeds = 1;
};
// Tests on the first `options.test_images` of data.test and calibrates on data.train.
ChipAccuracy evaluate_on_chip(Model& model, const std::shared_ptr<const ChipSpec>& chip, const DataSplits& data,
                              const ChipTestOptions& options);

// Trains `model` and writes `checkpoint_path` (model, optimizer, quantizer state and policy) after every
// epoch and every `checkpoint_minutes` within one, atomically. When the checkpoint already holds the same
// run with fewer epochs, training resumes from it, at the batch where it stopped, and ends with the same
// weights as an uninterrupted run; a different run there is a ConfigError.
// An empty `checkpoint_path` trains without checkpoints (short fine-tunes); an empty test set is not tested.
TrainResult train(Model& model, const DataSplits& data, const TrainOptions& options, const CheckpointInfo& info,
                  const std::string& checkpoint_path);

// Saves the model alone (no optimizer), e.g. for evaluation results or exports.
void save_checkpoint(Model& model, const CheckpointInfo& info, const std::string& path,
                     torch::optim::Optimizer* optimizer = nullptr);

// A fingerprint of every parameter and buffer of the network (names, types, shapes and bytes), saved with
// each checkpoint and checked when it is loaded.
std::string weights_digest(Model& model);

// Reads a checkpoint's record without its tensors.
CheckpointInfo read_checkpoint_info(const std::string& path);

// Rebuilds the model a checkpoint holds, with its weights, quantizer state and policy; a checkpoint whose
// weights do not match the digest saved with them is a DataError.
Model load_checkpoint(const std::string& path);

// Copies the weights of a checkpoint into `model` (for --from): every parameter and batch-norm buffer must
// exist with the same shape; quantizer state is taken only where the bits match.
void load_weights_from(Model& model, const std::string& path);

std::string checkpoint_info_json(const CheckpointInfo& info);

// metrics.json of a run: test_accuracy and val_accuracy as fractions, epochs, and the per-epoch history.
std::string metrics_json(const TrainResult& result, const Model& model, const std::string& dataset);

}  // namespace qxbar
