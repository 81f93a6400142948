#include "nn/builtin_workloads.h"

#include <filesystem>
#include <functional>
#include <map>

#include "sim/errors.h"

namespace qxbar {
namespace {

// Walks a network's convolutions and dense layers, tracking the feature-map size, so each network below
// reads like its architecture rather than a table of products.
class WorkloadBuilder {
 public:
  WorkloadBuilder(std::string name, std::int64_t input_size) : size_(input_size) { workload_.name = std::move(name); }

  // Adds a square convolution and returns the output feature-map size; the input size is not changed, so
  // a residual branch can be added from the same input.
  std::int64_t conv(const std::string& name, std::int64_t in_channels, std::int64_t out_channels,
                    std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
    const std::int64_t out = (size_ + 2 * padding - kernel) / stride + 1;
    workload_.layers.push_back({name, LayerKind::Conv, in_channels * kernel * kernel, out_channels, out * out, 1});
    return out;
  }
  void set_size(std::int64_t size) { size_ = size; }
  void pool(std::int64_t kernel, std::int64_t stride) { size_ = (size_ - kernel) / stride + 1; }
  void dense(const std::string& name, std::int64_t in_features, std::int64_t out_features) {
    workload_.layers.push_back({name, LayerKind::Dense, in_features, out_features, 1, 1});
  }
  std::int64_t size() const { return size_; }
  Workload take() { return std::move(workload_); }

 private:
  Workload workload_;
  std::int64_t size_;
};

// ResNet-18 for 224x224 ImageNet (He et al., 2016). Layer order follows the order in which CIM-AQ's
// models consume a policy: within a stage's first block, the 1x1 downsample comes before the two 3x3 convs.
Workload resnet18_imagenet() {
  WorkloadBuilder net("resnet18-imagenet", 224);
  net.set_size(net.conv("conv1", 3, 64, 7, 2, 3));
  net.set_size((net.size() + 2 - 3) / 2 + 1);  // 3x3 max-pool, stride 2, padding 1
  std::int64_t channels = 64;
  const std::int64_t widths[] = {64, 128, 256, 512};
  for (int stage = 0; stage < 4; ++stage) {
    const std::int64_t width = widths[stage];
    for (int block = 0; block < 2; ++block) {
      const std::string prefix = "layer" + std::to_string(stage + 1) + "." + std::to_string(block) + ".";
      const std::int64_t stride = (block == 0 && stage > 0) ? 2 : 1;
      if (stride != 1 || channels != width) net.conv(prefix + "downsample", channels, width, 1, stride, 0);
      net.set_size(net.conv(prefix + "conv1", channels, width, 3, stride, 1));
      net.conv(prefix + "conv2", width, width, 3, 1, 1);
      channels = width;
    }
  }
  net.dense("fc", 512, 1000);
  return net.take();
}

// VGG-16 (configuration D of Simonyan and Zisserman, 2015) for 224x224 ImageNet.
Workload vgg16_imagenet() {
  WorkloadBuilder net("vgg16-imagenet", 224);
  const std::vector<std::vector<std::int64_t>> stages = {
      {64, 64}, {128, 128}, {256, 256, 256}, {512, 512, 512}, {512, 512, 512}};
  std::int64_t channels = 3;
  int index = 0;
  for (const auto& stage : stages) {
    for (const std::int64_t width : stage) {
      net.conv("features." + std::to_string(index++), channels, width, 3, 1, 1);
      channels = width;
    }
    net.pool(2, 2);
  }
  net.dense("classifier.0", 512 * net.size() * net.size(), 4096);
  net.dense("classifier.3", 4096, 4096);
  net.dense("classifier.6", 4096, 1000);
  return net.take();
}

// LeNet-5 for 28x28 Fashion-MNIST: the first convolution is padded so the classic 5x5x16 map remains.
Workload lenet5_fmnist() {
  WorkloadBuilder net("lenet5-fmnist", 28);
  net.set_size(net.conv("conv1", 1, 6, 5, 1, 2));
  net.pool(2, 2);
  net.set_size(net.conv("conv2", 6, 16, 5, 1, 0));
  net.pool(2, 2);
  net.dense("fc1", 16 * net.size() * net.size(), 120);
  net.dense("fc2", 120, 84);
  net.dense("fc3", 84, 10);
  return net.take();
}

const std::map<std::string, std::function<Workload()>>& registry() {
  static const std::map<std::string, std::function<Workload()>> networks = {
      {"lenet5-fmnist", lenet5_fmnist},
      {"resnet18-imagenet", resnet18_imagenet},
      {"vgg16-imagenet", vgg16_imagenet},
  };
  return networks;
}

}  // namespace

std::vector<std::string> builtin_workload_names() {
  std::vector<std::string> names;
  for (const auto& entry : registry()) names.push_back(entry.first);
  return names;
}

Workload builtin_workload(const std::string& name) {
  const auto found = registry().find(name);
  if (found == registry().end()) {
    std::string known;
    for (const std::string& option : builtin_workload_names()) known += (known.empty() ? "" : ", ") + option;
    throw ConfigError("--net " + name + ": unknown network (built-in: " + known + "; or a CIM-AQ layer file *.yaml)");
  }
  return found->second();
}

Workload resolve_workload(const std::string& name_or_file) {
  const std::filesystem::path path(name_or_file);
  if (path.extension() == ".yaml" || path.extension() == ".yml") {
    if (!std::filesystem::exists(path)) throw ConfigError(name_or_file + ": no such layer-dimension file");
    return load_cimaq_layer_file(name_or_file);
  }
  return builtin_workload(name_or_file);
}

}  // namespace qxbar
