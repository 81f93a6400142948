#include "nn/quantizers.h"

#include <cmath>

#include "sim/core/errors.h"

namespace qxbar {
namespace {

constexpr double kMinimumStep = 1e-8;
constexpr double kPercentile = 0.9999;

torch::Tensor positive_step(const torch::Tensor& step) { return step.abs().clamp_min(kMinimumStep); }

// Per-channel tensors reduce over every dimension but the first.
torch::Tensor channel_view(const torch::Tensor& per_channel, const torch::Tensor& like) {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(like.dim()), 1);
  shape[0] = per_channel.numel();
  return per_channel.view(shape);
}

torch::Tensor abs_max_per_channel(const torch::Tensor& weight) { return weight.abs().flatten(1).amax(1); }

// The clip (as a fraction of max |w|) that minimises the squared quantization error, searched on a grid.
torch::Tensor mse_step(const torch::Tensor& weight, double positive_level, bool per_channel) {
  const torch::Tensor maximum = per_channel ? abs_max_per_channel(weight) : weight.abs().max().reshape({1});
  torch::Tensor best_step = maximum / positive_level;
  torch::Tensor best_error = torch::full_like(maximum, std::numeric_limits<float>::infinity());
  for (int i = 20; i <= 100; ++i) {
    const torch::Tensor step = (maximum * (i / 100.0) / positive_level).clamp_min(kMinimumStep);
    const torch::Tensor broadcast = per_channel ? channel_view(step, weight) : step;
    const torch::Tensor quantized = (weight / broadcast).round().clamp(-positive_level, positive_level) * broadcast;
    const torch::Tensor error = per_channel ? (quantized - weight).pow(2).flatten(1).sum(1) : (quantized - weight).pow(2).sum().reshape({1});
    const torch::Tensor better = error < best_error;
    best_error = torch::where(better, error, best_error);
    best_step = torch::where(better, step, best_step);
  }
  return best_step;
}

}  // namespace

torch::Tensor round_ste(const torch::Tensor& x) { return (x.round() - x).detach() + x; }

torch::Tensor scale_gradient(const torch::Tensor& x, double factor) { return (x - x * factor).detach() + x * factor; }

IntegerRange weight_range(int bits) {
  const double positive_level = std::ldexp(1.0, bits - 1) - 1;
  return {positive_level, positive_level};
}

IntegerRange activation_range(int bits, bool is_signed) {
  if (is_signed) return {std::ldexp(1.0, bits - 1), std::ldexp(1.0, bits - 1) - 1};
  return {0, std::ldexp(1.0, bits) - 1};
}

WeightInit parse_weight_init(const std::string& name) {
  if (name == "minmax") return WeightInit::MinMax;
  if (name == "mse") return WeightInit::Mse;
  if (name == "lsq") return WeightInit::Lsq;
  if (name == "pact") return WeightInit::MinMax;  // PACT quantizes activations; its weights use min-max
  throw ConfigError("--quantizer " + name + ": unknown quantizer (choose minmax, mse, pact, lsq)");
}

const char* to_string(WeightInit init) {
  switch (init) {
    case WeightInit::MinMax: return "minmax";
    case WeightInit::Mse: return "mse";
    case WeightInit::Lsq: return "lsq";
  }
  return "?";
}

const char* to_string(ActivationInit init) {
  switch (init) {
    case ActivationInit::MinMax: return "minmax";
    case ActivationInit::Percentile: return "percentile";
    case ActivationInit::Pact: return "pact";
    case ActivationInit::Lsq: return "lsq";
  }
  return "?";
}

ActivationInit parse_activation_init(const std::string& name) {
  if (name == "percentile") return ActivationInit::Percentile;
  if (name == "minmax") return ActivationInit::MinMax;
  if (name == "mse") return ActivationInit::Percentile;
  if (name == "pact") return ActivationInit::Pact;
  if (name == "lsq") return ActivationInit::Lsq;
  throw ConfigError("--quantizer " + name + ": unknown quantizer (choose minmax, mse, pact, lsq)");
}

WeightQuantizerImpl::WeightQuantizerImpl(std::int64_t channels, WeightInit init, bool per_channel)
    : init_(init), per_channel_(per_channel) {
  step_ = register_parameter("step", torch::ones({per_channel ? channels : 1}));
  bits_ = register_buffer("bits", torch::tensor(std::int64_t{kFloatBits}));
  initialised_ = register_buffer("initialised", torch::tensor(false));
}

void WeightQuantizerImpl::set_bits(int bits) {
  if (bits == this->bits()) return;
  bits_.fill_(bits);
  initialised_.fill_(false);
}

torch::Tensor WeightQuantizerImpl::step() const { return positive_step(step_); }

void WeightQuantizerImpl::initialise(const torch::Tensor& weight) {
  torch::NoGradGuard no_grad;
  const torch::Tensor detached = weight.detach();
  const int b = bits();
  torch::Tensor step;
  if (b == 1) {
    step = per_channel_ ? detached.abs().flatten(1).mean(1) : detached.abs().mean().reshape({1});
  } else {
    const double positive_level = weight_range(b).positive;
    switch (init_) {
      case WeightInit::MinMax:
        step = (per_channel_ ? abs_max_per_channel(detached) : detached.abs().max().reshape({1})) / positive_level;
        break;
      case WeightInit::Mse:
        step = mse_step(detached, positive_level, per_channel_);
        break;
      case WeightInit::Lsq:
        step = (per_channel_ ? detached.abs().flatten(1).mean(1) : detached.abs().mean().reshape({1})) * 2 /
               std::sqrt(positive_level);
        break;
    }
  }
  step_.copy_(step.clamp_min(kMinimumStep));
  initialised_.fill_(true);
}

torch::Tensor WeightQuantizerImpl::forward(const torch::Tensor& weight) {
  const int b = bits();
  if (b >= kFloatBits) return weight;
  if (!initialised_.item<bool>()) initialise(weight);
  torch::Tensor step = positive_step(step_);
  const double positive_level = b == 1 ? 1.0 : weight_range(b).positive;
  // LSQ's gradient scale keeps the step's update in proportion to the weights' whatever the init.
  step = scale_gradient(step, 1.0 / std::sqrt(weight.numel() * positive_level));
  if (per_channel_) step = channel_view(step, weight);
  const torch::Tensor scaled = weight / step;
  if (b == 1) {
    const torch::Tensor clipped = scaled.clamp(-1, 1);
    const torch::Tensor sign = torch::where(scaled >= 0, torch::ones_like(scaled), -torch::ones_like(scaled));
    return ((sign - clipped).detach() + clipped) * step;
  }
  return round_ste(scaled.clamp(-positive_level, positive_level)) * step;
}

ActivationQuantizerImpl::ActivationQuantizerImpl(ActivationInit init, bool is_signed) : init_(init), is_signed_(is_signed) {
  clip_or_step_ = register_parameter("clip_or_step", torch::ones({1}), init == ActivationInit::Pact || init == ActivationInit::Lsq);
  bits_ = register_buffer("bits", torch::tensor(std::int64_t{kFloatBits}));
  initialised_ = register_buffer("initialised", torch::tensor(false));
}

void ActivationQuantizerImpl::set_bits(int bits) {
  if (bits == this->bits()) return;
  bits_.fill_(bits);
  initialised_.fill_(false);
}

torch::Tensor ActivationQuantizerImpl::step() const {
  if (init_ == ActivationInit::Lsq) return positive_step(clip_or_step_);
  return positive_step(clip_or_step_) / activation_range(bits(), is_signed_).positive;
}

void ActivationQuantizerImpl::initialise(const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  const torch::Tensor magnitude = (is_signed_ ? input.abs() : input.clamp_min(0)).detach().flatten().to(torch::kFloat32);
  const double positive_level = activation_range(bits(), is_signed_).positive;
  torch::Tensor value;
  switch (init_) {
    case ActivationInit::MinMax:
    case ActivationInit::Pact:
      value = magnitude.max();
      break;
    case ActivationInit::Percentile: {
      // kthvalue instead of quantile: exact, and not limited to 16M elements.
      const auto k = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(kPercentile * magnitude.numel())));
      value = std::get<0>(magnitude.kthvalue(k));
      break;
    }
    case ActivationInit::Lsq:
      value = magnitude.mean() * 2 / std::sqrt(positive_level);
      break;
  }
  clip_or_step_.copy_(value.clamp_min(kMinimumStep).reshape({1}));
  initialised_.fill_(true);
}

torch::Tensor ActivationQuantizerImpl::forward(const torch::Tensor& input) {
  const int b = bits();
  if (b >= kFloatBits) return input;
  if (!initialised_.item<bool>()) initialise(input);
  const IntegerRange range = activation_range(b, is_signed_);
  if (init_ == ActivationInit::Lsq) {
    const torch::Tensor step = scale_gradient(positive_step(clip_or_step_), 1.0 / std::sqrt(input.numel() * range.positive));
    return round_ste((input / step).clamp(-range.negative, range.positive)) * step;
  }
  // Clip, then quantize the clipped range. The clip learns (PACT) only through the clipping itself.
  const torch::Tensor clip = positive_step(clip_or_step_);
  const torch::Tensor upper = torch::where(input < clip, input, clip);
  const torch::Tensor clipped = is_signed_ ? torch::where(upper > -clip, upper, -clip) : upper.clamp_min(0);
  const torch::Tensor step = clip.detach() / range.positive;
  return round_ste(clipped / step).clamp(-range.negative, range.positive) * step;
}

}  // namespace qxbar
