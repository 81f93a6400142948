#include "nn/image_folder.h"

#include <gmock/gmock.h>
#include <png.h>

#include <filesystem>

#include "nn/data.h"
#include "sim/core/errors.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using ::testing::HasSubstr;
using qxbar::testing::error_message;
using qxbar::testing::read_text;
using qxbar::testing::TempDir;

// A horizontal ramp: every pixel of column x holds round(255 x / (width - 1)) in all channels.
torch::Tensor ramp(std::int64_t width, std::int64_t height) {
  const torch::Tensor row = torch::linspace(0, 255, width).round().to(torch::kUInt8);
  return row.view({1, 1, width}).expand({3, height, width}).contiguous();
}

torch::Tensor solid(std::uint8_t red, std::uint8_t green, std::uint8_t blue, std::int64_t size = 40) {
  return torch::tensor({red, green, blue}, torch::kUInt8).view({3, 1, 1}).expand({3, size, size}).contiguous();
}

std::string make_class(const TempDir& dir, const std::string& split, const std::string& name) {
  const std::string folder = dir.file(split + "/" + name);
  std::filesystem::create_directories(folder);
  return folder;
}

double channel_mean(const torch::Tensor& image, int channel) { return image[channel].to(torch::kFloat64).mean().item<double>(); }

TEST(ImageFolder, ClassesAreNumberedInSortedOrderAndValidationKeepsThem) {
  TempDir dir;
  for (const char* name : {"zebra", "ant", "moth"}) {
    const std::string folder = make_class(dir, "train", name);
    write_jpeg(folder + "/1.jpg", solid(10, 20, 30));
    write_jpeg(folder + "/2.JPEG", solid(10, 20, 30));
  }
  dir.write("train/ant/notes.txt", "not an image");
  write_jpeg(make_class(dir, "val", "moth") + "/1.jpeg", solid(1, 2, 3));

  const ImageFolder train = scan_image_folder(dir.file("train"));
  EXPECT_EQ(train.classes, (std::vector<std::string>{"ant", "moth", "zebra"}));
  ASSERT_EQ(train.paths.size(), 6u);
  EXPECT_THAT(train.paths[0], HasSubstr("/ant/1.jpg"));
  EXPECT_TRUE(torch::equal(train.labels, torch::tensor({0, 0, 1, 1, 2, 2}, torch::kInt64)));
  const ImageFolder val = scan_image_folder(dir.file("val"), train.classes);
  EXPECT_TRUE(torch::equal(val.labels, torch::tensor({1}, torch::kInt64)));

  make_class(dir, "val", "unicorn");
  EXPECT_THAT(error_message<DataError>([&] { scan_image_folder(dir.file("val"), train.classes); }),
              HasSubstr("unicorn: a class the training folder does not have"));
  EXPECT_THAT(error_message<DataError>([&] { scan_image_folder(dir.file("train/ant/notes.txt")); }), HasSubstr("no such folder"));
}

TEST(ImageFolder, EvaluationTakesTheCentreOfTheShorterSide) {
  TempDir dir;
  const std::string folder = make_class(dir, "train", "ramp");
  write_jpeg(folder + "/wide.jpg", ramp(400, 200));
  const ImageFolder images = scan_image_folder(dir.file("train"));
  const torch::Tensor batch = decode_images(images, torch::tensor({0}), {56, false}, nullptr);
  ASSERT_EQ(batch.sizes(), (std::vector<std::int64_t>{1, 3, 56, 56}));
  // The crop is the middle 175 columns (0.875 x 200): x = 112..287 of the ramp, values 72..183.
  const torch::Tensor row = batch[0][0][28].to(torch::kFloat64);
  EXPECT_NEAR(row[0].item<double>(), 72, 6);
  EXPECT_NEAR(row[55].item<double>(), 183, 6);
  EXPECT_NEAR(row.mean().item<double>(), 127.5, 4);
}

TEST(ImageFolder, RandomCropsFollowTheGeneratorAndFlip) {
  TempDir dir;
  write_jpeg(make_class(dir, "train", "ramp") + "/1.jpg", ramp(120, 90));
  const ImageFolder images = scan_image_folder(dir.file("train"));
  const torch::Tensor same_image = torch::zeros({16}, torch::kInt64);
  auto first = at::make_generator<at::CPUGeneratorImpl>(7);
  auto again = at::make_generator<at::CPUGeneratorImpl>(7);
  const torch::Tensor a = decode_images(images, same_image, {32, true}, &first);
  EXPECT_TRUE(torch::equal(a, decode_images(images, same_image, {32, true}, &again)));
  EXPECT_FALSE(torch::equal(a, decode_images(images, same_image, {32, true}, &first)));
  int rising = 0;
  int falling = 0;
  for (std::int64_t i = 0; i < a.size(0); ++i) {
    const torch::Tensor row = a[i][0][16].to(torch::kInt32);
    rising += row[31].item<int>() > row[0].item<int>() ? 1 : 0;
    falling += row[31].item<int>() < row[0].item<int>() ? 1 : 0;
  }
  EXPECT_GT(rising, 0);
  EXPECT_GT(falling, 0);
}

TEST(ImageFolder, BatchesAreTheSameOnOneThreadAndOnSeveral) {
  TempDir dir;
  write_jpeg(make_class(dir, "train", "ramp") + "/1.jpg", ramp(120, 90));
  const ImageFolder images = scan_image_folder(dir.file("train"));
  const torch::Tensor same_image = torch::zeros({32}, torch::kInt64);
  const int threads = torch::get_num_threads();
  const auto decode_on = [&](int thread_count) {
    torch::set_num_threads(thread_count);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
    return decode_images(images, same_image, {32, true}, &generator);
  };
  const torch::Tensor one = decode_on(1);
  const torch::Tensor several = decode_on(4);
  torch::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one, several));
}

void write_png(const std::string& path, const torch::Tensor& rgb) {
  const torch::Tensor pixels = rgb.permute({1, 2, 0}).contiguous();
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(pixels.size(1));
  image.height = static_cast<png_uint_32>(pixels.size(0));
  image.format = PNG_FORMAT_RGB;
  ASSERT_NE(png_image_write_to_file(&image, path.c_str(), 0, pixels.data_ptr<std::uint8_t>(), 0, nullptr), 0);
}

TEST(ImageFolder, GreyJpegsAndPngsBehindAnyNameBecomeRgb) {
  TempDir dir;
  const std::string folder = make_class(dir, "train", "mixed");
  write_jpeg(folder + "/grey.jpg", torch::full({1, 30, 30}, 200, torch::kUInt8));
  write_png(folder + "/png_named.JPEG", solid(250, 10, 10));
  const ImageFolder images = scan_image_folder(dir.file("train"));
  const torch::Tensor batch = decode_images(images, torch::tensor({0, 1}), {16, false}, nullptr);
  for (int channel = 0; channel < 3; ++channel) EXPECT_NEAR(channel_mean(batch[0], channel), 200, 2);
  EXPECT_NEAR(channel_mean(batch[1], 0), 250, 1);
  EXPECT_NEAR(channel_mean(batch[1], 2), 10, 1);
}

TEST(ImageFolder, UnreadableAndTruncatedFilesAreErrorsNamingThem) {
  TempDir dir;
  const std::string folder = make_class(dir, "train", "bad");
  dir.write("train/bad/garbage.jpg", "this is not a JPEG");
  write_jpeg(folder + "/whole.jpg", ramp(200, 200));
  const std::string whole = read_text(folder + "/whole.jpg");
  dir.write("train/bad/truncated.jpg", whole.substr(0, whole.size() / 2));
  const ImageFolder images = scan_image_folder(dir.file("train"));
  ASSERT_THAT(images.paths[0], HasSubstr("garbage.jpg"));
  ASSERT_THAT(images.paths[1], HasSubstr("truncated.jpg"));
  EXPECT_THAT(error_message<DataError>([&] { decode_images(images, torch::tensor({0}), {16, false}, nullptr); }),
              HasSubstr("garbage.jpg: not a readable JPEG or PNG"));
  EXPECT_THAT(error_message<DataError>([&] { decode_images(images, torch::tensor({1}), {16, false}, nullptr); }),
              HasSubstr("truncated.jpg: cannot decode JPEG"));
  EXPECT_EQ(decode_images(images, torch::tensor({2}), {16, false}, nullptr).size(0), 1);
}

TEST(ImageFolder, LoadsAsADatasetWithNormalisedInputs) {
  TempDir dir;
  for (const char* split : {"train", "val"}) {
    write_jpeg(make_class(dir, split, "red") + "/1.jpg", solid(255, 0, 0));
    write_jpeg(make_class(dir, split, "blue") + "/1.jpg", solid(0, 0, 255));
    write_jpeg(dir.file(std::string(split) + "/blue/2.jpg"), solid(0, 0, 255));
  }
  DataOptions options;
  options.name = "imagenet";
  options.dir = dir.file("");
  options.val_size = 1;
  EXPECT_EQ(dataset_classes(options), 2);
  const DataSplits splits = load_data(options);
  EXPECT_EQ(splits.train.size(), 2);
  EXPECT_EQ(splits.val.size(), 1);
  EXPECT_EQ(splits.test.size(), 3);
  EXPECT_TRUE(splits.train.augment);
  EXPECT_FALSE(splits.test.augment);
  const torch::Tensor inputs = splits.test.inputs(torch::tensor({0, 2}));
  ASSERT_EQ(inputs.sizes(), (std::vector<std::int64_t>{2, 3, 224, 224}));
  // Test labels: blue = 0, red = 1. ImageNet normalisation: red 255 -> (1 - 0.485) / 0.229.
  EXPECT_EQ(splits.test.labels[2].item<std::int64_t>(), 1);
  EXPECT_NEAR(inputs[1][0].mean().item<double>(), (1 - 0.485) / 0.229, 0.05);
  EXPECT_NEAR(inputs[0][2].mean().item<double>(), (1 - 0.406) / 0.225, 0.05);
}

}  // namespace
}  // namespace qxbar
