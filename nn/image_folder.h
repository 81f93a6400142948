#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace qxbar {

// The image files of an ImageNet-style folder: one subfolder per class, named after it, holding that
// class's images (*.jpg, *.jpeg or *.png, any case; JPEG or PNG inside, whatever the name says). Classes
// are numbered in the sorted order of their names, as torchvision's ImageFolder numbers them, so labels
// agree with models trained there.
struct ImageFolder {
  std::vector<std::string> classes;
  std::vector<std::string> paths;
  torch::Tensor labels;  // int64, one per path
};

// Lists `dir`. With `classes` given, the subfolders must be among them and keep their numbers (a
// validation folder labelled like its training folder); otherwise the subfolders are the classes.
ImageFolder scan_image_folder(const std::string& dir, const std::vector<std::string>& classes = {});

// How images become network inputs of `size` x `size` pixels. Evaluation takes the centre square of
// size / 0.875 pixels after resizing the shorter side to it (224 from 256, the standard ImageNet
// evaluation); training takes a random crop of 8-100% of the area with aspect ratio 3/4..4/3 and flips
// it half the time (Inception-style random resized crop).
struct CropSettings {
  std::int64_t size = 224;
  bool random = false;
};

// Decodes the files at `indices` into a uint8 batch [N, 3, size, size], using the intra-op threads. A random
// crop draws from `generator` once per image before decoding, so the batch is the same whatever the thread
// count. Grey and CMYK JPEGs become RGB. A file that cannot be decoded, or ends early, is a DataError
// naming it.
torch::Tensor decode_images(const ImageFolder& folder, const torch::Tensor& indices, const CropSettings& crop,
                            torch::Generator* generator);

// Writes an RGB or grey image (uint8 [3 or 1, H, W]) as a baseline JPEG; for tests and tools that make
// small folders.
void write_jpeg(const std::string& path, const torch::Tensor& image, int quality = 95);

}  // namespace qxbar
