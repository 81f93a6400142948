#include "nn/image_folder.h"

#include <ATen/Parallel.h>
#include <spdlog/spdlog.h>
#include <png.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>
#include <random>

#include "sim/core/atomic_file.h"
#include "sim/core/errors.h"

namespace qxbar {
namespace {

namespace fs = std::filesystem;

bool is_image(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(), [](unsigned char c) { return std::tolower(c); });
  return extension == ".jpg" || extension == ".jpeg" || extension == ".png";
}

std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw DataError(path + ": cannot open image");
  note_input_file(path);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// A turbojpeg handle that is destroyed with its owner.
using JpegHandle = std::unique_ptr<void, int (*)(tjhandle)>;

// A region of the original image, in pixels.
struct Region {
  std::int64_t x;
  std::int64_t y;
  std::int64_t width;
  std::int64_t height;
  bool flip;
};

Region centre_crop(std::int64_t width, std::int64_t height) {
  constexpr double kCropFraction = 0.875;  // 224 of 256
  const auto side = std::max<std::int64_t>(1, std::llround(static_cast<double>(std::min(width, height)) * kCropFraction));
  return {(width - side) / 2, (height - side) / 2, side, side, false};
}

Region random_resized_crop(std::int64_t width, std::int64_t height, std::uint64_t seed) {
  constexpr double kMinimumArea = 0.08;
  constexpr double kMinimumRatio = 3.0 / 4.0;
  constexpr double kMaximumRatio = 4.0 / 3.0;
  constexpr int kAttempts = 10;
  std::mt19937_64 random(seed);
  std::uniform_real_distribution<double> area_fraction(kMinimumArea, 1.0);
  std::uniform_real_distribution<double> log_ratio(std::log(kMinimumRatio), std::log(kMaximumRatio));
  const bool flip = (random() & 1U) != 0;
  const double area = static_cast<double>(width * height);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    const double target = area * area_fraction(random);
    const double ratio = std::exp(log_ratio(random));
    const std::int64_t w = std::llround(std::sqrt(target * ratio));
    const std::int64_t h = std::llround(std::sqrt(target / ratio));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const auto x = static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(width - w + 1));
      const auto y = static_cast<std::int64_t>(random() % static_cast<std::uint64_t>(height - h + 1));
      return {x, y, w, h, flip};
    }
  }
  // Extreme aspect ratios: the whole image, cut to the nearest allowed ratio.
  const double ratio = static_cast<double>(width) / static_cast<double>(height);
  std::int64_t w = width;
  std::int64_t h = height;
  if (ratio < kMinimumRatio) h = std::llround(static_cast<double>(w) / kMinimumRatio);
  if (ratio > kMaximumRatio) w = std::llround(static_cast<double>(h) * kMaximumRatio);
  return {(width - w) / 2, (height - h) / 2, w, h, flip};
}

Region choose_region(std::int64_t width, std::int64_t height, const CropSettings& crop, std::uint64_t seed) {
  return crop.random ? random_resized_crop(width, height, seed) : centre_crop(width, height);
}

// The smallest DCT scaling turbojpeg offers (1/8 .. 1) that keeps the region at least `size` pixels on its
// shorter side: decoding a 500-pixel photo for a 224-pixel input at half scale is several times faster.
tjscalingfactor decode_scale(const Region& region, std::int64_t size) {
  int count = 0;
  const tjscalingfactor* factors = tjGetScalingFactors(&count);
  tjscalingfactor best{1, 1};
  const std::int64_t shorter = std::min(region.width, region.height);
  for (int i = 0; i < count; ++i) {
    const tjscalingfactor f = factors[i];
    if (f.num > f.denom) continue;
    if (shorter * f.num / f.denom >= size && f.num * best.denom < best.num * f.denom) best = f;
  }
  return best;
}

// Adobe's CMYK JPEGs store inverted inks: each RGB value is the inverted ink times the inverted black.
torch::Tensor cmyk_to_rgb(const torch::Tensor& cmyk) {
  const torch::Tensor values = cmyk.to(torch::kInt32);
  const torch::Tensor black = values.select(2, 3).unsqueeze(2);
  return (values.narrow(2, 0, 3) * black / 255).to(torch::kUInt8);
}

// Decoded pixels, uint8 [H, W, 3], of an image whose full size is `width` x `height`, decoded at `scale`.
struct Decoded {
  torch::Tensor pixels;
  Region region;
  double scale;
};

bool is_png(const std::string& bytes) { return bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0; }

// PNG files turn up in JPEG collections (ImageNet has one under a .JPEG name); libpng reads them whole.
Decoded decode_png(const std::string& path, const std::string& bytes, const CropSettings& crop, std::uint64_t seed) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()) == 0) {
    throw DataError(path + ": not a readable PNG (" + image.message + ")");
  }
  image.format = PNG_FORMAT_RGB;
  torch::Tensor pixels = torch::empty({image.height, image.width, 3}, torch::kUInt8);
  if (png_image_finish_read(&image, nullptr, pixels.data_ptr<std::uint8_t>(), 0, nullptr) == 0) {
    const std::string reason = image.message;
    png_image_free(&image);
    throw DataError(path + ": cannot decode PNG (" + reason + ")");
  }
  const Region region = choose_region(image.width, image.height, crop, seed);
  return {pixels, region, 1.0};
}

Decoded decode_jpeg(const std::string& path, const std::string& bytes, const CropSettings& crop, std::uint64_t seed) {
  const JpegHandle handle(tjInitDecompress(), tjDestroy);
  if (!handle) throw DataError(path + ": cannot start the JPEG decoder");
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const auto length = static_cast<unsigned long>(bytes.size());
  int width = 0;
  int height = 0;
  int subsampling = 0;
  int colourspace = 0;
  if (tjDecompressHeader3(handle.get(), data, length, &width, &height, &subsampling, &colourspace) != 0) {
    throw DataError(path + ": not a readable JPEG or PNG (" + tjGetErrorStr2(handle.get()) + ")");
  }
  const Region region = choose_region(width, height, crop, seed);
  const tjscalingfactor scale = decode_scale(region, crop.size);
  const int scaled_width = TJSCALED(width, scale);
  const int scaled_height = TJSCALED(height, scale);
  const bool cmyk = colourspace == TJCS_CMYK || colourspace == TJCS_YCCK;
  torch::Tensor pixels = torch::empty({scaled_height, scaled_width, cmyk ? 4 : 3}, torch::kUInt8);
  if (tjDecompress2(handle.get(), data, length, pixels.data_ptr<std::uint8_t>(), scaled_width, 0, scaled_height,
                    cmyk ? TJPF_CMYK : TJPF_RGB, 0) != 0) {
    const std::string reason = tjGetErrorStr2(handle.get());
    // libjpeg only warns when the data ends early, and fills the rest grey: a truncated file.
    if (tjGetErrorCode(handle.get()) != TJERR_WARNING || reason.find("Premature end") != std::string::npos) {
      throw DataError(path + ": cannot decode JPEG (" + reason + "; truncated or corrupt)");
    }
    // Other warnings (extraneous bytes before a marker) leave the image whole, as other readers find it.
    spdlog::warn("{}: {}", path, reason);
  }
  if (cmyk) pixels = cmyk_to_rgb(pixels);
  return {pixels, region, static_cast<double>(scale.num) / static_cast<double>(scale.denom)};
}

// Decodes one file and returns its crop, resized to size x size, as uint8 [3, size, size].
torch::Tensor decode_region(const std::string& path, const CropSettings& crop, std::uint64_t seed) {
  const std::string bytes = read_bytes(path);
  const Decoded decoded = is_png(bytes) ? decode_png(path, bytes, crop, seed) : decode_jpeg(path, bytes, crop, seed);
  const std::int64_t decoded_height = decoded.pixels.size(0);
  const std::int64_t decoded_width = decoded.pixels.size(1);
  const auto scaled = [&](std::int64_t value, std::int64_t limit) {
    return std::clamp<std::int64_t>(std::llround(static_cast<double>(value) * decoded.scale), 0, limit);
  };
  const Region& region = decoded.region;
  const std::int64_t x = scaled(region.x, decoded_width - 1);
  const std::int64_t y = scaled(region.y, decoded_height - 1);
  const std::int64_t w = std::max<std::int64_t>(1, std::min(scaled(region.width, decoded_width), decoded_width - x));
  const std::int64_t h = std::max<std::int64_t>(1, std::min(scaled(region.height, decoded_height), decoded_height - y));
  const torch::Tensor cut = decoded.pixels.narrow(0, y, h).narrow(1, x, w).permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32);
  namespace F = torch::nn::functional;
  torch::Tensor resized = F::interpolate(cut, F::InterpolateFuncOptions()
                                                  .size(std::vector<std::int64_t>{crop.size, crop.size})
                                                  .mode(torch::kBilinear)
                                                  .align_corners(false)
                                                  .antialias(true))
                              .squeeze(0);
  if (region.flip) resized = resized.flip({2});
  return resized.round().clamp(0, 255).to(torch::kUInt8);
}

}  // namespace

ImageFolder scan_image_folder(const std::string& dir, const std::vector<std::string>& classes) {
  if (!fs::is_directory(dir)) throw DataError(dir + ": no such folder (expected one subfolder of images per class)");
  std::vector<std::string> found;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory()) found.push_back(entry.path().filename().string());
  }
  std::sort(found.begin(), found.end());
  if (found.empty()) throw DataError(dir + ": holds no class subfolders");
  ImageFolder folder;
  folder.classes = classes.empty() ? found : classes;
  std::map<std::string, std::int64_t> label_of;
  for (std::size_t i = 0; i < folder.classes.size(); ++i) label_of[folder.classes[i]] = static_cast<std::int64_t>(i);
  std::vector<std::int64_t> labels;
  for (const std::string& name : found) {
    const auto label = label_of.find(name);
    if (label == label_of.end()) throw DataError(dir + "/" + name + ": a class the training folder does not have");
    std::vector<std::string> files;
    for (const fs::directory_entry& entry : fs::directory_iterator(fs::path(dir) / name)) {
      if (entry.is_regular_file() && is_image(entry.path())) files.push_back(entry.path().string());
    }
    if (files.empty()) throw DataError(dir + "/" + name + ": holds no .jpg, .jpeg or .png images");
    std::sort(files.begin(), files.end());
    folder.paths.insert(folder.paths.end(), files.begin(), files.end());
    labels.insert(labels.end(), files.size(), label->second);
  }
  folder.labels = torch::tensor(labels, torch::kInt64);
  return folder;
}

torch::Tensor decode_images(const ImageFolder& folder, const torch::Tensor& indices, const CropSettings& crop,
                            torch::Generator* generator) {
  const std::int64_t count = indices.size(0);
  const torch::Tensor index = indices.to(torch::kInt64).contiguous();
  torch::Tensor seeds = torch::zeros({count}, torch::kInt64);
  if (crop.random) {
    if (generator == nullptr) throw std::logic_error("decode_images: random crops need a generator");
    seeds = at::randint(std::numeric_limits<std::int64_t>::max(), {count}, *generator);
  }
  const auto* files = index.data_ptr<std::int64_t>();
  const auto* image_seeds = seeds.data_ptr<std::int64_t>();
  torch::Tensor batch = torch::empty({count, 3, crop.size, crop.size}, torch::kUInt8);
  at::parallel_for(0, count, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const std::string& path = folder.paths.at(static_cast<std::size_t>(files[i]));
      batch[i].copy_(decode_region(path, crop, static_cast<std::uint64_t>(image_seeds[i])));
    }
  });
  return batch;
}

void write_jpeg(const std::string& path, const torch::Tensor& image, int quality) {
  const torch::Tensor pixels = image.permute({1, 2, 0}).contiguous().to(torch::kUInt8);
  const bool grey = image.size(0) == 1;
  const JpegHandle handle(tjInitCompress(), tjDestroy);
  unsigned char* encoded = nullptr;
  unsigned long size = 0;
  if (!handle || tjCompress2(handle.get(), pixels.data_ptr<std::uint8_t>(), static_cast<int>(pixels.size(1)), 0,
                             static_cast<int>(pixels.size(0)), grey ? TJPF_GRAY : TJPF_RGB, &encoded, &size,
                             grey ? TJSAMP_GRAY : TJSAMP_444, quality, 0) != 0) {
    throw DataError(path + ": cannot encode JPEG");
  }
  const std::unique_ptr<unsigned char, void (*)(unsigned char*)> owned(encoded, tjFree);
  write_file_atomically(path, std::string(reinterpret_cast<const char*>(encoded), size));
}

}  // namespace qxbar
