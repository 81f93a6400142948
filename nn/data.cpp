#include "nn/data.h"

#include <zlib.h>

#include <array>
#include <filesystem>
#include <random>

#include "sim/core/atomic_file.h"
#include "sim/core/errors.h"

namespace qxbar {
namespace {

// Normalisation constants (mean, std per channel) of the training sets.
struct Normalisation {
  std::vector<float> mean;
  std::vector<float> std;
};

const Normalisation kFashionMnist{{0.2860f}, {0.3530f}};
const Normalisation kMnist{{0.1307f}, {0.3081f}};
const Normalisation kCifar10{{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}};
const Normalisation kImageNet{{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};

// The whole file through zlib, which reads gzip'd and plain files alike.
std::string read_maybe_gzipped(const std::string& path) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) throw DataError(path + ": cannot open file");
  note_input_file(path);
  std::string bytes;
  std::array<char, 1 << 16> buffer{};
  int read = 0;
  while ((read = gzread(file, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0) bytes.append(buffer.data(), read);
  int status = Z_OK;
  const char* message = gzerror(file, &status);
  const std::string reason = message != nullptr ? message : "";
  gzclose(file);
  if (read < 0 || (status != Z_OK && status != Z_STREAM_END)) throw DataError(path + ": corrupt file: " + reason);
  return bytes;
}

std::uint32_t big_endian_u32(const std::string& bytes, std::size_t offset) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data()) + offset;
  return (std::uint32_t{data[0]} << 24) | (std::uint32_t{data[1]} << 16) | (std::uint32_t{data[2]} << 8) | data[3];
}

// Validates an idx header of `dimensions` sizes and returns them.
std::vector<std::int64_t> idx_header(const std::string& bytes, const std::string& path, std::uint32_t magic,
                                     std::size_t dimensions) {
  const std::size_t header = 4 + 4 * dimensions;
  if (bytes.size() < 4 || big_endian_u32(bytes, 0) != magic) {
    const std::uint32_t found = bytes.size() < 4 ? 0 : big_endian_u32(bytes, 0);
    throw DataError(path + ": not an idx file of the expected kind (magic " + std::to_string(found) +
                    ", expected " + std::to_string(magic) + ")");
  }
  if (bytes.size() < header) throw DataError(path + ": truncated idx header");
  std::vector<std::int64_t> sizes;
  std::int64_t elements = 1;
  for (std::size_t i = 0; i < dimensions; ++i) {
    sizes.push_back(big_endian_u32(bytes, 4 + 4 * i));
    if (__builtin_mul_overflow(elements, sizes.back(), &elements)) {
      throw DataError(path + ": the header announces more data than a file can hold");
    }
  }
  if (static_cast<std::int64_t>(bytes.size() - header) != elements) {
    throw DataError(path + ": holds " + std::to_string(bytes.size() - header) + " data bytes, the header announces " +
                    std::to_string(elements) + " (truncated or corrupt)");
  }
  return sizes;
}

torch::Tensor bytes_to_tensor(const std::string& bytes, std::size_t offset, std::vector<std::int64_t> sizes) {
  auto tensor = torch::empty(sizes, torch::kUInt8);
  std::memcpy(tensor.data_ptr<std::uint8_t>(), bytes.data() + offset, static_cast<std::size_t>(tensor.numel()));
  return tensor;
}

torch::Tensor normalise(const torch::Tensor& images_uint8, const Normalisation& normalisation) {
  const auto channels = static_cast<std::int64_t>(normalisation.mean.size());
  const auto mean = torch::tensor(normalisation.mean).view({1, channels, 1, 1});
  const auto std = torch::tensor(normalisation.std).view({1, channels, 1, 1});
  // In place: a training set is hundreds of megabytes in float32, and each temporary costs page faults.
  return images_uint8.to(torch::kFloat32).div_(255.0f).sub_(mean).div_(std);
}

Dataset in_memory(std::string name, torch::Tensor images, torch::Tensor labels, std::int64_t classes, bool augment) {
  Dataset data;
  data.name = std::move(name);
  data.images = std::move(images);
  data.labels = std::move(labels);
  data.classes = classes;
  data.augment = augment;
  return data;
}

// MNIST and Fashion-MNIST images are 28x28 pixels.
constexpr std::int64_t kIdxImageSide = 28;

std::string idx_file(const std::string& dir, const std::string& stem) {
  for (const std::string& candidate : {dir + "/" + stem + ".gz", dir + "/" + stem}) {
    if (std::filesystem::exists(candidate)) return candidate;
  }
  throw DataError(dir + "/" + stem + "[.gz]: no such file");
}

Dataset load_idx_dataset(const std::string& name, const std::string& dir, const std::string& split,
                         const Normalisation& normalisation) {
  const std::string images_path = idx_file(dir, split + "-images-idx3-ubyte");
  const std::string labels_path = idx_file(dir, split + "-labels-idx1-ubyte");
  const torch::Tensor images = read_idx_images(images_path);
  const torch::Tensor labels = read_idx_labels(labels_path);
  if (images.size(0) == 0) throw DataError(images_path + ": holds no images");
  if (images.size(1) != kIdxImageSide || images.size(2) != kIdxImageSide) {
    throw DataError(images_path + ": holds " + std::to_string(images.size(1)) + "x" + std::to_string(images.size(2)) + " images, " +
                    name + "'s are " + std::to_string(kIdxImageSide) + "x" + std::to_string(kIdxImageSide));
  }
  if (images.size(0) != labels.size(0)) {
    throw DataError(labels_path + ": " + std::to_string(labels.size(0)) + " labels for " +
                    std::to_string(images.size(0)) + " images in " + images_path);
  }
  if (labels.max().item<std::int64_t>() >= 10) throw DataError(labels_path + ": label out of range 0..9");
  return in_memory(name, normalise(images.unsqueeze(1), normalisation), labels, 10, false);
}

Dataset load_cifar10(const std::string& dir, bool train) {
  std::vector<torch::Tensor> images;
  std::vector<torch::Tensor> labels;
  if (train) {
    for (int batch = 1; batch <= 5; ++batch) read_cifar10_batch(dir + "/data_batch_" + std::to_string(batch) + ".bin", images, labels);
  } else {
    read_cifar10_batch(dir + "/test_batch.bin", images, labels);
  }
  return in_memory("cifar10", normalise(torch::cat(images), kCifar10), torch::cat(labels), 10, train);
}

Dataset load_image_folder(const std::string& dir, const std::string& split, const std::vector<std::string>& classes) {
  Dataset data;
  data.name = "imagenet";
  auto folder = std::make_shared<ImageFolder>(scan_image_folder(dir + "/" + split, classes));
  data.labels = folder->labels;
  data.classes = static_cast<std::int64_t>(folder->classes.size());
  data.augment = split == "train";
  data.file_indices = torch::arange(data.labels.size(0), torch::kInt64);
  data.folder = std::move(folder);
  return data;
}

}  // namespace

Dataset Dataset::subset(const torch::Tensor& indices) const {
  Dataset part = *this;
  part.labels = labels.index_select(0, indices);
  if (images.defined()) part.images = images.index_select(0, indices);
  if (file_indices.defined()) part.file_indices = file_indices.index_select(0, indices);
  return part;
}

Dataset Dataset::first(std::int64_t count) const {
  if (count <= 0 || count >= size()) return *this;
  return subset(torch::arange(count));
}

torch::Tensor Dataset::inputs(const torch::Tensor& indices, torch::Generator* augmentation) const {
  const bool augmented = augment && augmentation != nullptr;
  if (folder) {
    const torch::Tensor pixels =
        decode_images(*folder, file_indices.index_select(0, indices), {image_size, augmented}, augmentation);
    return normalise(pixels, kImageNet);
  }
  const torch::Tensor batch = images.index_select(0, indices);
  return augmented ? augment_batch(batch, *augmentation) : batch;
}

std::vector<std::string> dataset_names() { return {"fashion-mnist", "mnist", "cifar10", "imagenet", "synthetic"}; }

OptionSet data_options(DataOptions& options) {
  using D = DataOptions;
  static const std::vector<Option<DataOptions>> table = {
      {"name", "data", "dataset", &D::name, {}, dataset_names},
      {"dir", "data-dir", "folder with the dataset's files (fashion-mnist: Debian's package by default)", &D::dir, {},
       nullptr, false},
      {"train_size", "train-size", "training images used (0: all not held out)", &D::train_size, {0}},
      {"val_size", "val-size", "training images held out for validation", &D::val_size, {0}},
  };
  return bind_options(table, options);
}

std::int64_t dataset_classes(const DataOptions& options) {
  if (options.name != "imagenet") return 10;
  std::int64_t classes = 0;
  const std::string train = options.dir + "/train";
  if (!std::filesystem::is_directory(train)) throw DataError(train + ": no such folder (expected one subfolder of images per class)");
  for (const auto& entry : std::filesystem::directory_iterator(train)) classes += entry.is_directory() ? 1 : 0;
  return classes;
}

std::string default_data_dir(const std::string& name) {
  if (name == "fashion-mnist") return "/usr/share/datasets/fashion-mnist";  // Debian's dataset-fashion-mnist
  return "";
}

torch::Tensor read_idx_images(const std::string& path) {
  const std::string bytes = read_maybe_gzipped(path);
  return bytes_to_tensor(bytes, 16, idx_header(bytes, path, 0x00000803, 3));
}

torch::Tensor read_idx_labels(const std::string& path) {
  const std::string bytes = read_maybe_gzipped(path);
  return bytes_to_tensor(bytes, 8, idx_header(bytes, path, 0x00000801, 1)).to(torch::kInt64);
}

void read_cifar10_batch(const std::string& path, std::vector<torch::Tensor>& images, std::vector<torch::Tensor>& labels) {
  constexpr std::int64_t kRecord = 1 + 3 * 32 * 32;
  const std::string bytes = read_maybe_gzipped(path);
  if (bytes.empty() || bytes.size() % kRecord != 0) {
    throw DataError(path + ": " + std::to_string(bytes.size()) + " bytes is not a whole number of " +
                    std::to_string(kRecord) + "-byte CIFAR-10 records (truncated or corrupt)");
  }
  const auto records = static_cast<std::int64_t>(bytes.size()) / kRecord;
  const torch::Tensor raw = bytes_to_tensor(bytes, 0, {records, kRecord});
  const torch::Tensor batch_labels = raw.select(1, 0).to(torch::kInt64);
  if (batch_labels.max().item<std::int64_t>() >= 10) throw DataError(path + ": label out of range 0..9");
  labels.push_back(batch_labels);
  images.push_back(raw.narrow(1, 1, kRecord - 1).reshape({records, 3, 32, 32}));
}

Dataset synthetic_dataset(std::int64_t size, std::int64_t classes, std::int64_t channels, std::int64_t image_size,
                          std::uint64_t seed) {
  // One task for every seed: the prototypes are fixed, the seed draws the samples.
  constexpr std::uint64_t kTaskSeed = 0x5eed;
  auto task = at::make_generator<at::CPUGeneratorImpl>(kTaskSeed);
  const auto prototypes = at::randn({classes, channels, image_size, image_size}, task);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto labels = at::randint(classes, {size}, generator);
  const auto images = prototypes.index_select(0, labels) + 0.5 * at::randn({size, channels, image_size, image_size}, generator);
  return in_memory("synthetic", images, labels, classes, false);
}

torch::Tensor augment_batch(const torch::Tensor& images, torch::Generator& generator) {
  constexpr std::int64_t kPad = 4;
  const std::int64_t height = images.size(2);
  const std::int64_t width = images.size(3);
  const auto padded = torch::constant_pad_nd(images, {kPad, kPad, kPad, kPad});
  auto out = torch::empty_like(images);
  const auto offsets = at::randint(2 * kPad + 1, {images.size(0), 2}, generator);
  const auto flips = at::randint(2, {images.size(0)}, generator);
  for (std::int64_t i = 0; i < images.size(0); ++i) {
    auto crop = padded[i].narrow(1, offsets[i][0].item<std::int64_t>(), height).narrow(2, offsets[i][1].item<std::int64_t>(), width);
    out[i] = flips[i].item<std::int64_t>() == 1 ? crop.flip({2}) : crop;
  }
  return out;
}

SeededEpoch::SeededEpoch(const Dataset& data, std::int64_t batch_size, std::uint64_t seed, int epoch)
    : data_(data),
      batch_size_(batch_size),
      seed_(seed * 1000003ULL + static_cast<std::uint64_t>(epoch)),
      order_(torch::tensor(seeded_permutation(data.size(), seed_), torch::kInt64)),
      batches_((data.size() + batch_size - 1) / batch_size) {}

SeededEpoch::Batch SeededEpoch::batch(std::int64_t index) const {
  Batch batch;
  batch.seed = seed_ * 1000003ULL + static_cast<std::uint64_t>(index);
  torch::manual_seed(batch.seed);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(batch.seed);
  const std::int64_t start = index * batch_size_;
  batch.size = std::min(batch_size_, data_.size() - start);
  const torch::Tensor indices = order_.narrow(0, start, batch.size);
  batch.inputs = data_.inputs(indices, &generator);
  batch.labels = data_.labels.index_select(0, indices);
  batch.seen = start + batch.size;
  return batch;
}

std::vector<std::int64_t> seeded_permutation(std::int64_t n, std::uint64_t seed) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) order[static_cast<std::size_t>(i)] = i;
  std::mt19937_64 random(seed);
  for (std::int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(i + 1));
    std::swap(order[static_cast<std::size_t>(i)], order[static_cast<std::size_t>(j)]);
  }
  return order;
}

DataSplits load_data(const DataOptions& options) {
  Dataset train;
  Dataset test;
  const std::string dir = options.dir.empty() ? default_data_dir(options.name) : options.dir;
  if (options.name == "synthetic") {
    train = synthetic_dataset(2000, 10, 1, 28, 1);
    test = synthetic_dataset(500, 10, 1, 28, 2);
  } else if (dir.empty()) {
    throw ConfigError("--data " + options.name + ": give the folder holding its files with --data-dir");
  } else if (options.name == "fashion-mnist" || options.name == "mnist") {
    const Normalisation& normalisation = options.name == "mnist" ? kMnist : kFashionMnist;
    train = load_idx_dataset(options.name, dir, "train", normalisation);
    test = load_idx_dataset(options.name, dir, "t10k", normalisation);
  } else if (options.name == "cifar10") {
    train = load_cifar10(dir, true);
    test = load_cifar10(dir, false);
    test.augment = false;
  } else if (options.name == "imagenet") {
    train = load_image_folder(dir, "train", {});
    test = load_image_folder(dir, "val", train.folder->classes);
  } else {
    throw ConfigError("--data " + options.name + ": unknown dataset (choose fashion-mnist, mnist, cifar10, imagenet, synthetic)");
  }

  const std::int64_t available = train.size();
  if (options.val_size < 0 || options.train_size < 0 || options.val_size + options.train_size > available) {
    throw ConfigError("--train-size " + std::to_string(options.train_size) + " and --val-size " +
                      std::to_string(options.val_size) + ": the training set of " + options.name + " has " +
                      std::to_string(available) + " images");
  }
  const std::vector<std::int64_t> order = seeded_permutation(available, options.seed);
  const auto indices = torch::tensor(order, torch::kInt64);
  const std::int64_t train_size = options.train_size == 0 ? available - options.val_size : options.train_size;
  DataSplits splits;
  splits.val = train.subset(indices.narrow(0, 0, options.val_size));
  splits.val.augment = false;
  splits.train = train.subset(indices.narrow(0, options.val_size, train_size));
  splits.test = std::move(test);
  return splits;
}

}  // namespace qxbar
