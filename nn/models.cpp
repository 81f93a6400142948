#include "nn/models.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "sim/core/errors.h"

namespace qxbar {
namespace {

namespace F = torch::nn::functional;
using torch::nn::BatchNorm2d;

// Convolution options with explicit padding; bias only where no batch norm follows.
torch::nn::Conv2dOptions conv_options(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride,
                                      std::int64_t padding, std::int64_t groups = 1, bool bias = false) {
  return torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).groups(groups).bias(bias);
}

// Registers `module` under a dotted path such as "layer1.0", creating plain container modules for the
// prefixes (LibTorch names may not contain dots), so names read like torchvision's.
template <typename Holder>
Holder register_at(torch::nn::Module& root, const std::string& path, Holder module) {
  torch::nn::Module* parent = &root;
  std::size_t start = 0;
  for (std::size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', start)) {
    const std::string part = path.substr(start, dot - start);
    std::shared_ptr<torch::nn::Module> child;
    for (const auto& item : parent->named_children()) {
      if (item.key() == part) child = item.value();
    }
    if (!child) child = parent->register_module(part, std::make_shared<torch::nn::Module>());
    parent = child.get();
    start = dot + 1;
  }
  return parent->register_module(path.substr(start), module);
}

// LeNet-5 (LeCun et al., 1998) with ReLU and max-pooling; a 28x28 input is padded by the first conv.
class Lenet5Impl : public NetworkImpl {
 public:
  explicit Lenet5Impl(const ModelSpec& spec) {
    conv1_ = register_module("conv1", QuantConv2d(conv_options(spec.in_channels, 6, 5, 1, spec.input_size == 28 ? 2 : 0, 1, true), spec.quant, true));
    conv2_ = register_module("conv2", QuantConv2d(conv_options(6, 16, 5, 1, 0, 1, true), spec.quant));
    fc1_ = register_module("fc1", QuantLinear(torch::nn::LinearOptions(16 * 5 * 5, 120), spec.quant));
    fc2_ = register_module("fc2", QuantLinear(torch::nn::LinearOptions(120, 84), spec.quant));
    fc3_ = register_module("fc3", QuantLinear(torch::nn::LinearOptions(84, spec.classes), spec.quant));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = F::max_pool2d(torch::relu(conv1_(x)), F::MaxPool2dFuncOptions(2));
    x = F::max_pool2d(torch::relu(conv2_(x)), F::MaxPool2dFuncOptions(2));
    x = torch::relu(fc1_(x.flatten(1)));
    return fc3_(torch::relu(fc2_(x)));
  }

 private:
  QuantConv2d conv1_{nullptr}, conv2_{nullptr};
  QuantLinear fc1_{nullptr}, fc2_{nullptr}, fc3_{nullptr};
};

// Conv-BN-ReLU stages named like torchvision's VGG with batch norm: features.<index>.
class VggImpl : public NetworkImpl {
 public:
  VggImpl(const ModelSpec& spec, const std::vector<std::int64_t>& config, std::int64_t hidden) {
    std::int64_t channels = spec.in_channels;
    std::int64_t size = spec.input_size;
    int index = 0;
    for (const std::int64_t width : config) {
      if (width == 0) {
        stages_.push_back({});
        size /= 2;
        ++index;
        continue;
      }
      Stage stage;
      stage.conv = register_at(*this, "features." + std::to_string(index),
                                   QuantConv2d(conv_options(channels, width, 3, 1, 1, 1, spec.batch_norm_folded), spec.quant, index == 0));
      stage.norm = register_at(*this, "features." + std::to_string(index + 1), BatchNorm2d(width));
      stages_.push_back(stage);
      channels = width;
      index += 3;
    }
    if (hidden > 0) {
      // VGG-16's classifier sees a 7x7 map whatever the input size, as in torchvision.
      pooled_ = 7;
      classifier_.push_back(register_at(*this, "classifier.0", QuantLinear(torch::nn::LinearOptions(channels * 49, hidden), spec.quant)));
      classifier_.push_back(register_at(*this, "classifier.3", QuantLinear(torch::nn::LinearOptions(hidden, hidden), spec.quant)));
      classifier_.push_back(register_at(*this, "classifier.6", QuantLinear(torch::nn::LinearOptions(hidden, spec.classes), spec.quant)));
    } else {
      pooled_ = size;
      classifier_.push_back(register_module("classifier", QuantLinear(torch::nn::LinearOptions(channels * size * size, spec.classes), spec.quant)));
    }
  }
  std::vector<ConvNorm> batch_norm_pairs() override {
    std::vector<ConvNorm> pairs;
    for (const Stage& stage : stages_) {
      if (stage.conv) pairs.emplace_back(stage.conv, stage.norm);
    }
    return pairs;
  }
  torch::Tensor forward(torch::Tensor x) override {
    for (Stage& stage : stages_) {
      x = stage.conv ? torch::relu(stage.norm(stage.conv(x))) : F::max_pool2d(x, F::MaxPool2dFuncOptions(2));
    }
    x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(pooled_)).flatten(1);
    for (std::size_t i = 0; i < classifier_.size(); ++i) {
      x = classifier_[i](x);
      if (i + 1 < classifier_.size()) x = F::dropout(torch::relu(x), F::DropoutFuncOptions().p(0.5).training(is_training()));
    }
    return x;
  }

 private:
  struct Stage {
    QuantConv2d conv{nullptr};
    BatchNorm2d norm{nullptr};
  };
  std::vector<Stage> stages_;
  std::vector<QuantLinear> classifier_;
  std::int64_t pooled_ = 1;
};

// He et al.'s basic block. The 1x1 downsample runs first, the order CIM-AQ's policies list it in.
class BasicBlockImpl : public torch::nn::Module {
 public:
  BasicBlockImpl(std::int64_t in, std::int64_t out, std::int64_t stride, const QuantOptions& quant, bool bias) {
    if (stride != 1 || in != out) {
      downsample_ = register_module("downsample", QuantConv2d(conv_options(in, out, 1, stride, 0, 1, bias), quant));
      downsample_norm_ = register_module("downsample_norm", BatchNorm2d(out));
    }
    conv1_ = register_module("conv1", QuantConv2d(conv_options(in, out, 3, stride, 1, 1, bias), quant));
    norm1_ = register_module("norm1", BatchNorm2d(out));
    conv2_ = register_module("conv2", QuantConv2d(conv_options(out, out, 3, 1, 1, 1, bias), quant));
    norm2_ = register_module("norm2", BatchNorm2d(out));
  }
  void add_batch_norm_pairs(std::vector<NetworkImpl::ConvNorm>& pairs) const {
    if (downsample_) pairs.emplace_back(downsample_, downsample_norm_);
    pairs.emplace_back(conv1_, norm1_);
    pairs.emplace_back(conv2_, norm2_);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor shortcut = downsample_ ? downsample_norm_(downsample_(x)) : x;
    const torch::Tensor y = torch::relu(norm1_(conv1_(x)));
    return torch::relu(norm2_(conv2_(y)) + shortcut);
  }

 private:
  QuantConv2d downsample_{nullptr}, conv1_{nullptr}, conv2_{nullptr};
  BatchNorm2d downsample_norm_{nullptr}, norm1_{nullptr}, norm2_{nullptr};
};
TORCH_MODULE(BasicBlock);

// ResNet-18 (ImageNet stem: 7x7 stride-2 conv and max-pool) or ResNet-20 (CIFAR stem: one 3x3 conv).
class ResNetImpl : public NetworkImpl {
 public:
  ResNetImpl(const ModelSpec& spec, bool imagenet_stem, const std::vector<std::int64_t>& widths, int blocks_per_stage)
      : imagenet_stem_(imagenet_stem) {
    const std::int64_t stem_width = widths.front();
    const bool bias = spec.batch_norm_folded;
    conv1_ = register_module("conv1", QuantConv2d(imagenet_stem ? conv_options(spec.in_channels, stem_width, 7, 2, 3, 1, bias)
                                                                : conv_options(spec.in_channels, stem_width, 3, 1, 1, 1, bias),
                                                  spec.quant, true));
    norm1_ = register_module("norm1", BatchNorm2d(stem_width));
    std::int64_t channels = stem_width;
    for (std::size_t stage = 0; stage < widths.size(); ++stage) {
      for (int block = 0; block < blocks_per_stage; ++block) {
        const std::int64_t stride = (block == 0 && stage > 0) ? 2 : 1;
        const std::string name = "layer" + std::to_string(stage + 1) + "." + std::to_string(block);
        blocks_.push_back(register_at(*this, name, BasicBlock(channels, widths[stage], stride, spec.quant, bias)));
        channels = widths[stage];
      }
    }
    fc_ = register_module("fc", QuantLinear(torch::nn::LinearOptions(channels, spec.classes), spec.quant));
  }
  std::vector<ConvNorm> batch_norm_pairs() override {
    std::vector<ConvNorm> pairs{{conv1_, norm1_}};
    for (const BasicBlock& block : blocks_) block->add_batch_norm_pairs(pairs);
    return pairs;
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::relu(norm1_(conv1_(x)));
    if (imagenet_stem_) x = F::max_pool2d(x, F::MaxPool2dFuncOptions(3).stride(2).padding(1));
    for (BasicBlock& block : blocks_) x = block(x);
    return fc_(F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1));
  }

 private:
  bool imagenet_stem_;
  QuantConv2d conv1_{nullptr};
  BatchNorm2d norm1_{nullptr};
  std::vector<BasicBlock> blocks_;
  QuantLinear fc_{nullptr};
};

std::int64_t make_divisible(double channels) {
  const auto rounded = std::max<std::int64_t>(8, static_cast<std::int64_t>(channels + 4) / 8 * 8);
  return rounded < 0.9 * channels ? rounded + 8 : rounded;
}

// Sandler et al.'s inverted residual: 1x1 expansion, 3x3 depthwise, linear 1x1 projection. Its input is
// the previous projection (plus shortcut), which can be negative, so the expansion quantizes signed.
class InvertedResidualImpl : public torch::nn::Module {
 public:
  InvertedResidualImpl(std::int64_t in, std::int64_t out, std::int64_t stride, std::int64_t expansion,
                       const QuantOptions& quant, bool bias)
      : residual_(stride == 1 && in == out) {
    const std::int64_t hidden = in * expansion;
    if (expansion != 1) {
      expand_ = register_module("expand", QuantConv2d(conv_options(in, hidden, 1, 1, 0, 1, bias), quant, true));
      expand_norm_ = register_module("expand_norm", BatchNorm2d(hidden));
    }
    depthwise_ = register_module("depthwise", QuantConv2d(conv_options(hidden, hidden, 3, stride, 1, hidden, bias), quant, expansion == 1));
    depthwise_norm_ = register_module("depthwise_norm", BatchNorm2d(hidden));
    project_ = register_module("project", QuantConv2d(conv_options(hidden, out, 1, 1, 0, 1, bias), quant));
    project_norm_ = register_module("project_norm", BatchNorm2d(out));
  }
  void add_batch_norm_pairs(std::vector<NetworkImpl::ConvNorm>& pairs) const {
    if (expand_) pairs.emplace_back(expand_, expand_norm_);
    pairs.emplace_back(depthwise_, depthwise_norm_);
    pairs.emplace_back(project_, project_norm_);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = expand_ ? torch::clamp(expand_norm_(expand_(x)), 0, 6) : x;
    y = torch::clamp(depthwise_norm_(depthwise_(y)), 0, 6);
    y = project_norm_(project_(y));
    return residual_ ? x + y : y;
  }

 private:
  bool residual_;
  QuantConv2d expand_{nullptr}, depthwise_{nullptr}, project_{nullptr};
  BatchNorm2d expand_norm_{nullptr}, depthwise_norm_{nullptr}, project_norm_{nullptr};
};
TORCH_MODULE(InvertedResidual);

// MobileNetV2 with a width multiplier. Inputs below 64 pixels keep the first two stages at stride 1, as
// CIFAR-sized variants do, so the last feature map is not smaller than 1x1.
class MobileNetV2Impl : public NetworkImpl {
 public:
  explicit MobileNetV2Impl(const ModelSpec& spec) {
    const bool small_input = spec.input_size < 64;
    const bool bias = spec.batch_norm_folded;
    const std::int64_t stem_width = make_divisible(32 * spec.width);
    stem_ = register_module("stem", QuantConv2d(conv_options(spec.in_channels, stem_width, 3, small_input ? 1 : 2, 1, 1, bias), spec.quant, true));
    stem_norm_ = register_module("stem_norm", BatchNorm2d(stem_width));
    struct StageConfig {
      std::int64_t expansion, channels, repeats, stride;
    };
    const StageConfig stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                                  {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    std::int64_t channels = stem_width;
    int index = 0;
    for (std::size_t s = 0; s < std::size(stages); ++s) {
      const std::int64_t width = make_divisible(stages[s].channels * spec.width);
      for (std::int64_t r = 0; r < stages[s].repeats; ++r) {
        const std::int64_t stride = r == 0 ? (small_input && s == 1 ? 1 : stages[s].stride) : 1;
        blocks_.push_back(register_at(*this, "blocks." + std::to_string(index++),
                                          InvertedResidual(channels, width, stride, stages[s].expansion, spec.quant, bias)));
        channels = width;
      }
    }
    const std::int64_t head_width = make_divisible(1280 * std::max(1.0, spec.width));
    head_ = register_module("head", QuantConv2d(conv_options(channels, head_width, 1, 1, 0, 1, bias), spec.quant, true));
    head_norm_ = register_module("head_norm", BatchNorm2d(head_width));
    classifier_ = register_module("classifier", QuantLinear(torch::nn::LinearOptions(head_width, spec.classes), spec.quant));
  }
  std::vector<ConvNorm> batch_norm_pairs() override {
    std::vector<ConvNorm> pairs{{stem_, stem_norm_}};
    for (const InvertedResidual& block : blocks_) block->add_batch_norm_pairs(pairs);
    pairs.emplace_back(head_, head_norm_);
    return pairs;
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::clamp(stem_norm_(stem_(x)), 0, 6);
    for (InvertedResidual& block : blocks_) x = block(x);
    x = torch::clamp(head_norm_(head_(x)), 0, 6);
    x = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
    return classifier_(F::dropout(x, F::DropoutFuncOptions().p(0.2).training(is_training())));
  }

 private:
  QuantConv2d stem_{nullptr}, head_{nullptr};
  BatchNorm2d stem_norm_{nullptr}, head_norm_{nullptr};
  std::vector<InvertedResidual> blocks_;
  QuantLinear classifier_{nullptr};
};

std::shared_ptr<NetworkImpl> build(const ModelSpec& spec) {
  const std::string& name = spec.architecture;
  if (name == "lenet5") return std::make_shared<Lenet5Impl>(spec);
  if (name == "vgg-small") return std::make_shared<VggImpl>(spec, std::vector<std::int64_t>{32, 32, 0, 64, 64, 0, 128, 128, 0}, 0);
  if (name == "vgg16") {
    return std::make_shared<VggImpl>(
        spec, std::vector<std::int64_t>{64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0}, 4096);
  }
  if (name == "resnet20") return std::make_shared<ResNetImpl>(spec, false, std::vector<std::int64_t>{16, 32, 64}, 3);
  if (name == "resnet18") return std::make_shared<ResNetImpl>(spec, true, std::vector<std::int64_t>{64, 128, 256, 512}, 2);
  if (name == "mobilenetv2") return std::make_shared<MobileNetV2Impl>(spec);
  std::string known;
  for (const std::string& option : architecture_names()) known += (known.empty() ? "" : ", ") + option;
  throw ConfigError("--net " + name + ": unknown network (choose " + known + ")");
}

// The smallest input each architecture accepts; smaller images are zero-padded to it.
std::int64_t minimum_input_size(const std::string& architecture) { return architecture == "vgg16" ? 32 : 1; }

}  // namespace

std::vector<std::string> architecture_names() {
  return {"lenet5", "vgg-small", "resnet20", "resnet18", "vgg16", "mobilenetv2"};
}

OptionSet network_options(NetworkOptions& options) {
  using N = NetworkOptions;
  static const std::vector<Option<NetworkOptions>> table = {
      {"network", "net", "network", &N::architecture, {}, architecture_names},
      {"width", "width", "width multiplier (mobilenetv2)", &N::width, {0, std::numeric_limits<double>::infinity(), true}},
      {"quantizer", "quantizer", "how weights and activations are quantized", &N::quantizer, {}, quantizer_names, true,
       [] { return quantizers().help(); }},
      {"per_channel", "per-channel", "one weight step per output channel", &N::per_channel},
      {"batch_norm", "batch-norm",
       "folded: quantize convolution weights with their batch norm folded in, as deployed; separate: as they are",
       &N::batch_norm, {}, batch_norm_modes},
  };
  return bind_options(table, options);
}

Model::Model(const ModelSpec& spec) : spec_(spec), network_(build(spec)) {
  if (spec.quant.fold_batch_norm && !spec.batch_norm_folded) {
    for (auto& [conv, norm] : network_->batch_norm_pairs()) conv->fold_in_training(norm);
  }
  std::map<const QuantLayer*, std::string> names;
  for (const auto& item : network_->named_modules()) {
    if (const auto* layer = dynamic_cast<const QuantLayer*>(item.value().get())) names[layer] = item.key();
  }
  LayerTracer tracer;
  {
    const LayerTracer::Scope listening(tracer);
    const torch::NoGradGuard no_grad;
    const bool was_training = network_->is_training();
    network_->eval();
    forward(torch::zeros({1, spec.in_channels, spec.input_size, spec.input_size}));
    network_->train(was_training);
  }
  workload_.name = spec.architecture;
  for (const LayerTracer::Entry& entry : tracer.entries) {
    layers_.push_back(entry.layer);
    workload_.layers.push_back(entry.shape);
    workload_.layers.back().name = names.at(entry.layer);
    geometry_.push_back(entry.geometry);
  }
}

torch::Tensor Model::forward(const torch::Tensor& images) {
  const std::int64_t minimum = minimum_input_size(spec_.architecture);
  if (images.size(-1) >= minimum) return network_->forward(images);
  const std::int64_t before = (minimum - images.size(-1)) / 2;
  const std::int64_t after = minimum - images.size(-1) - before;
  return network_->forward(torch::constant_pad_nd(images, {before, after, before, after}));
}

void Model::set_policy(const Policy& policy) {
  if (policy.layers.size() != layers_.size()) {
    throw DataError("policy has " + std::to_string(policy.layers.size()) + " layers, " + spec_.architecture + " has " +
                    std::to_string(layers_.size()));
  }
  for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->set_bits(policy.layers[i]);
}

void Model::set_integer_arithmetic(bool enabled) {
  for (QuantLayer* layer : layers_) layer->set_integer_arithmetic(enabled);
}

void Model::set_chip(const std::shared_ptr<const ChipSpec>& chip) {
  for (QuantLayer* layer : layers_) {
    layer->set_integer_arithmetic(true);
    layer->set_chip(chip);
  }
}

void Model::reprogram() {
  for (QuantLayer* layer : layers_) layer->reprogram();
}

void Model::set_calibrating(bool calibrating) {
  for (QuantLayer* layer : layers_) layer->set_calibrating(calibrating);
}

Model fold_batch_norm(Model& trained) {
  ModelSpec spec = trained.spec();
  spec.batch_norm_folded = true;
  Model folded(spec);
  const torch::NoGradGuard no_grad;
  const auto copy_matching = [](const auto& sources, auto targets) {
    for (const auto& item : sources) {
      torch::Tensor* target = targets.find(item.key());
      if (target != nullptr && target->defined() && item.value().defined() && target->sizes() == item.value().sizes()) {
        target->copy_(item.value());
      }
    }
  };
  copy_matching(trained.network().named_parameters(), folded.network().named_parameters());
  copy_matching(trained.network().named_buffers(), folded.network().named_buffers());
  const std::vector<NetworkImpl::ConvNorm> sources = trained.network().batch_norm_pairs();
  std::vector<NetworkImpl::ConvNorm> targets = folded.network().batch_norm_pairs();
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const auto& [source_conv, norm] = sources[i];
    auto& [target_conv, identity] = targets[i];
    const BatchNormFolding folding = batch_norm_folding(norm, source_conv->conv->bias);
    target_conv->conv->weight.copy_(source_conv->conv->weight * folding.scale.view({-1, 1, 1, 1}));
    target_conv->conv->bias.copy_(folding.bias);
    identity->weight.fill_(1);
    identity->bias.zero_();
    identity->running_mean.zero_();
    identity->running_var.fill_(1 - norm->options.eps());
    // Steps learned on the folded weights fit them as they are; steps learned on the convolution alone
    // do not.
    if (!trained.spec().quant.fold_batch_norm) target_conv->weight_quantizer()->recalibrate();
  }
  folded.set_policy(trained.policy());  // energies per cell read are policy, not tensors
  folded.network().eval();
  return folded;
}

Policy Model::policy() const {
  Policy policy;
  for (const QuantLayer* layer : layers_) policy.layers.push_back(layer->bits());
  return policy;
}

ModelSpec spec_for_dataset(const std::string& architecture, const std::string& dataset) {
  ModelSpec spec;
  spec.architecture = architecture;
  if (dataset == "fmnist" || dataset == "fashion-mnist" || dataset == "mnist" || dataset == "synthetic") {
    spec.in_channels = 1;
    spec.input_size = 28;
  } else if (dataset == "cifar10") {
    spec.in_channels = 3;
    spec.input_size = 32;
  } else if (dataset == "imagenet") {
    spec.in_channels = 3;
    spec.input_size = 224;
    spec.classes = 1000;
  } else {
    throw ConfigError("unknown input geometry '" + dataset + "' (choose fmnist, mnist, cifar10, imagenet)");
  }
  return spec;
}

ModelSpec spec_for_workload_name(const std::string& name) {
  const std::size_t dash = name.rfind('-');
  if (dash == std::string::npos) {
    throw ConfigError("expected <network>-<dataset>, e.g. resnet18-imagenet or lenet5-fmnist");
  }
  const std::string architecture = name.substr(0, dash);
  const std::vector<std::string> known = architecture_names();
  if (std::find(known.begin(), known.end(), architecture) == known.end()) {
    std::string list;
    for (const std::string& option : known) list += (list.empty() ? "" : ", ") + option;
    throw ConfigError("unknown network '" + architecture + "' (choose " + list +
                      ", followed by -fmnist, -mnist, -cifar10 or -imagenet; or a CIM-AQ layer file *.yaml)");
  }
  return spec_for_dataset(architecture, name.substr(dash + 1));
}

}  // namespace qxbar
