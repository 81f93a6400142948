// Speed of the image-folder reader, printed as a table (run on an otherwise idle machine): images decoded
// per second into 224x224 network inputs, with training's random resized crop and evaluation's centre
// crop, on 1 thread and on all cores, and the speed-up. The images are synthetic 500x375 JPEGs at quality
// 90, ImageNet's typical size and compression, so the numbers transfer to a real ImageNet folder.
// Usage: qxbar_decode_benchmark [IMAGES=512]
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>

#include <unistd.h>

#include "nn/image_folder.h"

namespace {

using Clock = std::chrono::steady_clock;

// Smooth colour fields with texture: a photograph's mix of flat regions and detail, which is what makes
// JPEG decoding cost what it costs.
torch::Tensor synthetic_photo(torch::Generator& generator) {
  const torch::Tensor low = torch::rand({1, 3, 6, 8}, generator);
  namespace F = torch::nn::functional;
  auto photo_size = F::InterpolateFuncOptions().size(std::vector<std::int64_t>{375, 500});
  const torch::Tensor smooth = F::interpolate(low, photo_size.mode(torch::kBilinear).align_corners(false));
  const torch::Tensor texture = torch::rand({1, 3, 375, 500}, generator) * 0.1 - 0.05;
  return ((smooth + texture).clamp(0, 1) * 255).squeeze(0).to(torch::kUInt8);
}

double images_per_second(const qxbar::ImageFolder& folder, const qxbar::CropSettings& crop, int threads) {
  torch::set_num_threads(threads);
  torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(1);
  const std::int64_t count = static_cast<std::int64_t>(folder.paths.size());
  constexpr std::int64_t kBatch = 64;
  const auto start = Clock::now();
  for (std::int64_t first = 0; first < count; first += kBatch) {
    const torch::Tensor indices = torch::arange(first, std::min(first + kBatch, count));
    qxbar::decode_images(folder, indices, crop, &generator);
  }
  return static_cast<double>(count) / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int images = argc > 1 ? std::stoi(argv[1]) : 512;
  const int cores = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("qxbar-decode-benchmark-" + std::to_string(::getpid()));
  torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(0);
  std::uintmax_t bytes = 0;
  for (int i = 0; i < images; ++i) {
    const std::filesystem::path class_dir = dir / (i % 2 == 0 ? "n01" : "n02");
    std::filesystem::create_directories(class_dir);
    const std::string path = (class_dir / (std::to_string(i) + ".jpg")).string();
    qxbar::write_jpeg(path, synthetic_photo(generator), 90);
    bytes += std::filesystem::file_size(path);
  }
  const qxbar::ImageFolder folder = qxbar::scan_image_folder(dir.string());
  std::printf("%d JPEGs of 500x375, %.0f KB on average, decoded into 224x224 inputs\n", images,
              static_cast<double>(bytes) / images / 1024);
  std::printf("%-22s %12s %12s %9s\n", "crop", "1 thread", std::to_string(cores).append(" threads").c_str(),
              "speed-up");
  for (const bool random : {true, false}) {
    const qxbar::CropSettings crop{224, random};
    images_per_second(folder, crop, 1);  // warms the page cache and the allocator
    const double one = images_per_second(folder, crop, 1);
    const double all = images_per_second(folder, crop, cores);
    std::printf("%-22s %10.0f/s %10.0f/s %8.2fx\n", random ? "random resized (train)" : "centre (evaluation)", one,
                all, all / one);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
