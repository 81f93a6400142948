#include "nn/data.h"

#include <gmock/gmock.h>
#include <zlib.h>

#include <filesystem>

#include "sim/core/errors.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using ::testing::HasSubstr;
using qxbar::testing::TempDir;
using qxbar::testing::error_message;

std::string big_endian(std::uint32_t value) {
  return {static_cast<char>(value >> 24), static_cast<char>(value >> 16), static_cast<char>(value >> 8),
          static_cast<char>(value)};
}

void write_gzip(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(file);
}

// An idx dataset of `count` 28x28 images whose pixels are the image index, labels index % 10.
void write_idx_split(const TempDir& dir, const std::string& split, std::uint32_t count, std::uint32_t label_count) {
  std::string images = big_endian(0x803) + big_endian(count) + big_endian(28) + big_endian(28);
  for (std::uint32_t i = 0; i < count; ++i) images += std::string(28 * 28, static_cast<char>(i));
  std::string labels = big_endian(0x801) + big_endian(label_count);
  for (std::uint32_t i = 0; i < label_count; ++i) labels += static_cast<char>(i % 10);
  write_gzip(dir.file(split + "-images-idx3-ubyte.gz"), images);
  write_gzip(dir.file(split + "-labels-idx1-ubyte.gz"), labels);
}

TEST(Data, IdxReaderReadsGzippedFiles) {
  TempDir dir;
  write_idx_split(dir, "train", 3, 3);
  const torch::Tensor images = read_idx_images(dir.file("train-images-idx3-ubyte.gz"));
  EXPECT_EQ(images.sizes(), (std::vector<std::int64_t>{3, 28, 28}));
  EXPECT_EQ(images[2][27][13].item<int>(), 2);
  EXPECT_EQ(read_idx_labels(dir.file("train-labels-idx1-ubyte.gz"))[1].item<std::int64_t>(), 1);
}

TEST(Data, TruncatedOrForeignFilesNameTheFile) {
  TempDir dir;
  const std::string truncated = dir.file("short.gz");
  write_gzip(truncated, big_endian(0x803) + big_endian(5) + big_endian(2) + big_endian(2) + std::string(7, 'x'));
  EXPECT_EQ(error_message<DataError>([&] { read_idx_images(truncated); }),
            truncated + ": holds 7 data bytes, the header announces 20 (truncated or corrupt)");
  const std::string labels_as_images = dir.file("labels.gz");
  write_gzip(labels_as_images, big_endian(0x801) + big_endian(1) + "x");
  EXPECT_THAT(error_message<DataError>([&] { read_idx_images(labels_as_images); }), HasSubstr("not an idx file of the expected kind"));
  const std::string broken = dir.write("broken.gz", std::string("\x1f\x8b\x08\x00garbage", 11));
  EXPECT_THAT(error_message<DataError>([&] { read_idx_images(broken); }), HasSubstr(broken));
  EXPECT_THAT(error_message<DataError>([&] { read_idx_labels(dir.file("absent.gz")); }), HasSubstr("cannot open"));
}

TEST(Data, MismatchedLabelCountIsAnError) {
  TempDir dir;
  write_idx_split(dir, "train", 20, 19);
  write_idx_split(dir, "t10k", 5, 5);
  EXPECT_THAT(error_message<DataError>([&] { load_data({"mnist", dir.file(""), 0, 0, 1}); }),
              HasSubstr("19 labels for 20 images"));
}

TEST(Data, IdxSetsMustHoldImagesOfTheirSize) {
  TempDir dir;
  write_idx_split(dir, "t10k", 5, 5);
  write_idx_split(dir, "train", 0, 0);
  EXPECT_EQ(error_message<DataError>([&] { load_data({"mnist", dir.file(""), 0, 0, 1}); }),
            dir.file("") + "/train-images-idx3-ubyte.gz: holds no images");
  write_gzip(dir.file("train-images-idx3-ubyte.gz"), big_endian(0x803) + big_endian(1) + big_endian(32) + big_endian(32) +
                                                          std::string(32 * 32, 'x'));
  EXPECT_THAT(error_message<DataError>([&] { load_data({"mnist", dir.file(""), 0, 0, 1}); }),
              HasSubstr("holds 32x32 images, mnist's are 28x28"));
  // Sizes whose product wraps 64 bits must not match a short body.
  const std::string wraps = dir.file("wraps.gz");
  write_gzip(wraps, big_endian(0x803) + big_endian(0x80000000) + big_endian(0x80000000) + big_endian(4));
  EXPECT_THAT(error_message<DataError>([&] { read_idx_images(wraps); }), HasSubstr("more data than a file can hold"));
}

TEST(Data, SplitIsSeededAndKeepsValidationFixed) {
  TempDir dir;
  write_idx_split(dir, "train", 100, 100);
  write_idx_split(dir, "t10k", 10, 10);
  const DataSplits a = load_data({"mnist", dir.file(""), 30, 20, 7});
  const DataSplits b = load_data({"mnist", dir.file(""), 50, 20, 7});
  const DataSplits c = load_data({"mnist", dir.file(""), 30, 20, 8});
  EXPECT_EQ(a.train.size(), 30);
  EXPECT_EQ(a.val.size(), 20);
  EXPECT_EQ(a.test.size(), 10);
  EXPECT_TRUE(torch::equal(a.val.images, b.val.images));
  EXPECT_FALSE(torch::equal(a.val.images, c.val.images));
  EXPECT_THAT(error_message<ConfigError>([&] { load_data({"mnist", dir.file(""), 90, 20, 7}); }),
              HasSubstr("the training set of mnist has 100 images"));
}

TEST(Data, PermutationIsAPermutationAndStable) {
  const std::vector<std::int64_t> order = seeded_permutation(1000, 42);
  std::vector<std::int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (std::int64_t i = 0; i < 1000; ++i) ASSERT_EQ(sorted[static_cast<std::size_t>(i)], i);
  EXPECT_EQ(order, seeded_permutation(1000, 42));
  EXPECT_NE(order, seeded_permutation(1000, 43));
}

TEST(Data, CifarBatchesAreReadAndCheckedForWholeRecords) {
  TempDir dir;
  std::string record(1 + 3072, '\x10');
  record[0] = 7;
  const std::string path = dir.write("data_batch_1.bin", record + record);
  std::vector<torch::Tensor> images;
  std::vector<torch::Tensor> labels;
  read_cifar10_batch(path, images, labels);
  EXPECT_EQ(images[0].sizes(), (std::vector<std::int64_t>{2, 3, 32, 32}));
  EXPECT_EQ(labels[0][1].item<std::int64_t>(), 7);
  const std::string cut = dir.write("data_batch_2.bin", record + record.substr(0, 100));
  EXPECT_THAT(error_message<DataError>([&] { read_cifar10_batch(cut, images, labels); }),
              HasSubstr("is not a whole number of 3073-byte CIFAR-10 records"));
}

TEST(Data, AugmentationKeepsShapesAndIsSeeded) {
  const torch::Tensor images = torch::arange(2 * 3 * 8 * 8, torch::kFloat32).reshape({2, 3, 8, 8});
  auto first = at::make_generator<at::CPUGeneratorImpl>(5);
  auto second = at::make_generator<at::CPUGeneratorImpl>(5);
  const torch::Tensor a = augment_batch(images, first);
  EXPECT_EQ(a.sizes(), images.sizes());
  EXPECT_TRUE(torch::equal(a, augment_batch(images, second)));
}

TEST(Data, FashionMnistFromTheDebianPackage) {
  if (!std::filesystem::exists(default_data_dir("fashion-mnist"))) GTEST_SKIP() << "dataset-fashion-mnist not installed";
  const DataSplits splits = load_data({"fashion-mnist", "", 5000, 1000, 0});
  EXPECT_EQ(splits.train.size(), 5000);
  EXPECT_EQ(splits.val.size(), 1000);
  EXPECT_EQ(splits.test.size(), 10000);
  EXPECT_EQ(splits.test.images.sizes(), (std::vector<std::int64_t>{10000, 1, 28, 28}));
  EXPECT_NEAR(splits.test.images.mean().item<double>(), 0.0, 0.05);  // normalised
  EXPECT_EQ(std::get<0>(torch::_unique(splits.test.labels)).numel(), 10);
}

}  // namespace
}  // namespace qxbar
