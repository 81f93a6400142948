#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "nn/quant_layers.h"
#include "sim/core/options.h"
#include "sim/core/policy.h"
#include "sim/core/workload.h"

namespace qxbar {

struct ModelSpec {
  std::string architecture;   // lenet5 | vgg-small | resnet20 | resnet18 | vgg16 | mobilenetv2
  std::int64_t in_channels = 1;
  std::int64_t classes = 10;
  std::int64_t input_size = 28;  // square inputs
  double width = 1.0;            // MobileNetV2's width multiplier
  QuantOptions quant;
  bool batch_norm_folded = false;  // convolutions carry a bias and their batch norms are the identity
};

std::vector<std::string> architecture_names();

// The network a run trains and how it is quantized, as recipes and `qxbar train` flags name them.
struct NetworkOptions {
  std::string architecture = "lenet5";
  double width = 1.0;  // MobileNetV2's width multiplier
  std::string quantizer = quantizers().entries().front().name;
  bool per_channel = false;
  std::string batch_norm = "folded";
};
OptionSet network_options(NetworkOptions& options);

// Every network qxbar trains: a module whose convolutions and dense layers are QuantConv2d / QuantLinear.
class NetworkImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor input) = 0;
  // Each convolution with the batch norm right after it, for folding.
  using ConvNorm = std::pair<QuantConv2d, torch::nn::BatchNorm2d>;
  virtual std::vector<ConvNorm> batch_norm_pairs() { return {}; }
};

// A network together with its quantizable layers in execution order (the order policies and workloads
// use) and their names as registered in the module tree (the names policy files use).
class Model {
 public:
  explicit Model(const ModelSpec& spec);

  const ModelSpec& spec() const { return spec_; }
  NetworkImpl& network() { return *network_; }
  std::shared_ptr<NetworkImpl> module() const { return network_; }
  torch::Tensor forward(const torch::Tensor& images);  // pads images smaller than the network needs

  std::size_t layer_count() const { return layers_.size(); }
  QuantLayer& layer(std::size_t index) { return *layers_[index]; }
  // The layer shapes seen by one forward pass of a single input: the accelerator's workload.
  const Workload& workload() const { return workload_; }
  // How each layer's matrix arose (channels, kernel, stride, feature size), in the same order.
  const std::vector<LayerGeometry>& geometry() const { return geometry_; }

  void set_policy(const Policy& policy);
  Policy policy() const;
  void set_integer_arithmetic(bool enabled);
  // Integer arithmetic as `chip` computes it, on every layer; nullptr: exact integer products.
  void set_chip(const std::shared_ptr<const ChipSpec>& chip);
  // Programs every layer's weights anew at its next product: new programming noise on a noisy chip.
  void reprogram();
  // While on, forwards fit the converters' ranges (adc.range: calibrated) and compute exactly.
  void set_calibrating(bool calibrating);

 private:
  ModelSpec spec_;
  std::shared_ptr<NetworkImpl> network_;
  std::vector<QuantLayer*> layers_;
  Workload workload_;
  std::vector<LayerGeometry> geometry_;
};

// The deployment form of a trained model: every batch norm folded into the convolution before it (weights
// scaled per channel, a bias added, the batch norm left as the identity), everything else copied. Weight
// quantizers trained with the batch norms folded in keep their steps; others are calibrated again on the
// folded weights.
Model fold_batch_norm(Model& trained);

// "<architecture>-<dataset>" names a network on a dataset's geometry: fmnist (1x28x28), mnist, cifar10
// (3x32x32) or imagenet (3x224x224, 1000 classes), e.g. resnet18-imagenet. An unknown name is a ConfigError
// that gives the reason only: the caller says where the name came from.
ModelSpec spec_for_workload_name(const std::string& name);
ModelSpec spec_for_dataset(const std::string& architecture, const std::string& dataset);

}  // namespace qxbar
