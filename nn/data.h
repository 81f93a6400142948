#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nn/image_folder.h"
#include "sim/core/options.h"

namespace qxbar {

// Labelled images, either held in memory or (ImageNet-style folders, too large for memory) decoded from
// their files batch by batch.
struct Dataset {
  std::string name;
  torch::Tensor images;  // in memory: float32 [N, C, H, W], normalised; undefined when read from files
  torch::Tensor labels;  // int64 [N]
  std::int64_t classes = 10;
  bool augment = false;  // random crops and flips while training
  // Read from files: the folder, and for each sample the index of its file there.
  std::shared_ptr<const ImageFolder> folder;
  torch::Tensor file_indices;
  std::int64_t image_size = 224;

  std::int64_t size() const { return labels.defined() ? labels.size(0) : 0; }
  Dataset subset(const torch::Tensor& indices) const;
  Dataset first(std::int64_t count) const;  // the first `count` samples; all of them when count is 0 or more
  // The normalised images of the samples at `indices`; augmented, where this set augments, when given a
  // generator to draw from.
  torch::Tensor inputs(const torch::Tensor& indices, torch::Generator* augmentation = nullptr) const;
};

struct DataOptions {
  std::string name = "fashion-mnist";  // fashion-mnist | mnist | cifar10 | imagenet | synthetic
  std::string dir;                     // empty: the dataset's default location
  std::int64_t train_size = 0;         // 0: everything left after the validation split
  std::int64_t val_size = 0;           // images taken out of the training set for validation
  std::uint64_t seed = 0;              // chooses the validation split
};

// Which data and how much of it, as recipes (data.<key>) and command-line flags name them.
OptionSet data_options(DataOptions& options);

struct DataSplits {
  Dataset train;
  Dataset val;
  Dataset test;
};

std::vector<std::string> dataset_names();
// The classes a dataset labels: 10, or the class subfolders of an image folder's training set.
std::int64_t dataset_classes(const DataOptions& options);
std::string default_data_dir(const std::string& name);  // empty when the dataset has none

// Loads a dataset and splits its training set: validation first, then the training subset, both from one
// seeded permutation, so the validation images stay the same whatever --train-size is. "imagenet" is any
// ImageNet-style folder (ImageNet, ImageNet-100, ...): DIR/train/<class>/*.JPEG for training and
// DIR/val/<class>/*.JPEG, the validation images sorted into class folders, for testing.
DataSplits load_data(const DataOptions& options);

// Readers for the file formats; any truncated or inconsistent file is a DataError naming it.
torch::Tensor read_idx_images(const std::string& path);  // uint8 [N, rows, cols], gzip or plain
torch::Tensor read_idx_labels(const std::string& path);  // int64 [N]
void read_cifar10_batch(const std::string& path, std::vector<torch::Tensor>& images, std::vector<torch::Tensor>& labels);

// Separable classes for fast tests: each class has its own random prototype image (the same for every
// seed), every sample is its class's prototype plus noise drawn from `seed`.
Dataset synthetic_dataset(std::int64_t size, std::int64_t classes, std::int64_t channels, std::int64_t image_size,
                          std::uint64_t seed);

// Random 4-pixel-padded crops and horizontal flips, drawn from `generator`.
torch::Tensor augment_batch(const torch::Tensor& images, torch::Generator& generator);

// Fisher-Yates over 0..n-1 with a 64-bit Mersenne Twister: the same order on every platform.
std::vector<std::int64_t> seeded_permutation(std::int64_t n, std::uint64_t seed);

// One epoch of training batches as every training loop draws them: the images in a permutation seeded
// from (seed, epoch), and every batch from a seed of its own (LibTorch's default generator is seeded with
// it, augmentation draws from a generator of it), so a run resumed at a batch repeats what the lost
// batches would have done.
class SeededEpoch {
 public:
  SeededEpoch(const Dataset& data, std::int64_t batch_size, std::uint64_t seed, int epoch);
  std::int64_t batches() const { return batches_; }
  struct Batch {
    std::uint64_t seed = 0;
    torch::Tensor inputs;
    torch::Tensor labels;
    std::int64_t size = 0;
    std::int64_t seen = 0;  // images of the epoch up to and including this batch
  };
  // Batch `index`; seeds LibTorch's default generator with the batch's seed.
  Batch batch(std::int64_t index) const;

 private:
  const Dataset& data_;
  std::int64_t batch_size_;
  std::uint64_t seed_;
  torch::Tensor order_;
  std::int64_t batches_;
};

}  // namespace qxbar
