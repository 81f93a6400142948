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

// `values` divided by each row's largest level. One level shared by every row divides as a scalar, which
// PyTorch does through its reciprocal; dividing by a tensor of levels would round differently in the
// last bit and move every per-layer result.
torch::Tensor per_level(const torch::Tensor& values, const torch::Tensor& levels) {
  if (levels.numel() == 1) return values / levels.item<double>();
  return values / levels.to(values.dtype());
}

// The clip (as a fraction of max |w|) that minimises the squared quantization error, searched on a grid.
torch::Tensor mse_step(const torch::Tensor& rows, const torch::Tensor& positive_levels) {
  const torch::Tensor maximum = rows.abs().amax(1);
  const torch::Tensor bound = positive_levels.to(rows.dtype()).expand_as(maximum).unsqueeze(1);
  torch::Tensor best_step = per_level(maximum, positive_levels);
  torch::Tensor best_error = torch::full_like(maximum, std::numeric_limits<float>::infinity());
  for (int i = 20; i <= 100; ++i) {
    const torch::Tensor step = per_level(maximum * (i / 100.0), positive_levels).clamp_min(kMinimumStep);
    const torch::Tensor broadcast = step.unsqueeze(1);
    const torch::Tensor quantized = torch::clamp((rows / broadcast).round(), -bound, bound) * broadcast;
    const torch::Tensor error = (quantized - rows).pow(2).sum(1);
    const torch::Tensor better = error < best_error;
    best_error = torch::where(better, error, best_error);
    best_step = torch::where(better, step, best_step);
  }
  return best_step;
}

torch::Tensor max_step(const torch::Tensor& rows, const torch::Tensor& positive_levels) {
  return per_level(rows.abs().amax(1), positive_levels);
}

// LSQ's initial step: 2 mean|x| / sqrt(Qp).
torch::Tensor lsq_step(const torch::Tensor& values, double positive_level) {
  return values.abs().mean(-1) * 2 / std::sqrt(positive_level);
}

torch::Tensor lsq_weight_step(const torch::Tensor& rows, const torch::Tensor& positive_levels) {
  const torch::Tensor twice_mean = rows.abs().mean(-1) * 2;
  if (positive_levels.numel() == 1) return twice_mean / std::sqrt(positive_levels.item<double>());
  return twice_mean / positive_levels.to(rows.dtype()).sqrt();
}

torch::Tensor max_clip(const torch::Tensor& magnitudes, double) { return magnitudes.max(); }

// kthvalue instead of quantile: exact, and not limited to 16M elements.
torch::Tensor percentile_clip(const torch::Tensor& magnitudes, double) {
  const auto k = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(kPercentile * magnitudes.numel())));
  return std::get<0>(magnitudes.kthvalue(k));
}

constexpr WeightRule kMaxWeights{"minmax", max_step};
constexpr ActivationRule kMaxClip{"minmax", ActivationLearns::Nothing, max_clip};

}  // namespace

torch::Tensor round_ste(const torch::Tensor& x) { return (x.round() - x).detach() + x; }

torch::Tensor scale_gradient(const torch::Tensor& x, double factor) { return (x - x * factor).detach() + x * factor; }

torch::Tensor scale_gradient(const torch::Tensor& x, const torch::Tensor& factor) {
  return (x - x * factor).detach() + x * factor;
}

IntegerRange weight_range(int bits) {
  const double positive_level = std::ldexp(1.0, bits - 1) - 1;
  return {positive_level, positive_level};
}

IntegerRange activation_range(int bits, bool is_signed) {
  if (is_signed) return {std::ldexp(1.0, bits - 1), std::ldexp(1.0, bits - 1) - 1};
  return {0, std::ldexp(1.0, bits) - 1};
}

const Registry<Quantizer>& quantizers() {
  static const Registry<Quantizer> registry("quantizer", {
      {"minmax", "steps from the largest |w| and the largest activation seen", kMaxWeights, kMaxClip},
      {"mse", "weight clip minimising the squared error, activations clipped at the 99.99th percentile",
       {"mse", mse_step}, {"percentile", ActivationLearns::Nothing, percentile_clip}},
      {"pact", "min-max weights, learned activation clip (PACT)", kMaxWeights,
       {"pact", ActivationLearns::Clip, max_clip}},
      {"lsq", "learned steps for weights and activations (LSQ)", {"lsq", lsq_weight_step},
       {"lsq", ActivationLearns::Step, lsq_step}},
  });
  return registry;
}

std::vector<std::string> quantizer_names() { return quantizers().names(); }

void StepsPerBits::add(torch::nn::Module& owner, const std::string& name, const torch::Tensor& like,
                       const std::vector<int>& bits) {
  for (int b : bits) {
    if (values.count(b) == 0) values[b] = owner.register_parameter(name + "_" + std::to_string(b) + "b", like.detach().clone());
  }
}

torch::Tensor StepsPerBits::value_or(int bits, const torch::Tensor& fallback) const {
  const auto kept = values.find(bits);
  return kept == values.end() ? fallback : kept->second;
}

bool StepsPerBits::switch_to(int bits, torch::Tensor& initialised_flag) const {
  if (values.count(bits) == 0) return false;
  initialised_flag.fill_(initialised.count(bits) != 0);
  return true;
}

WeightQuantizerImpl::WeightQuantizerImpl(std::int64_t channels, const Quantizer& quantizer, bool per_channel)
    : rule_(quantizer.weights), per_channel_(per_channel), channels_(channels) {
  step_ = register_parameter("step", torch::ones({per_channel ? channels : 1}));
  bits_ = register_buffer("bits", torch::tensor(std::int64_t{kFloatBits}));
  initialised_ = register_buffer("initialised", torch::tensor(false));
}

void WeightQuantizerImpl::set_bits(int bits) {
  if (bits_.dim() == 0 && bits == this->bits()) return;
  bits_.resize_({});
  bits_.fill_(bits);
  if (!steps_per_bits_.switch_to(bits, initialised_)) initialised_.fill_(false);
}

void WeightQuantizerImpl::set_channel_bits(const std::vector<int>& bits) {
  if (!per_channel_) {
    throw ConfigError("per-channel weight widths need one weight step per channel (network.per_channel: true, "
                      "--per-channel)");
  }
  if (static_cast<std::int64_t>(bits.size()) != channels_) {
    throw DataError("per-channel weight widths for " + std::to_string(bits.size()) + " channels, the layer has " +
                    std::to_string(channels_));
  }
  if (channel_bits() == bits) return;
  bits_.resize_({channels_});
  bits_.copy_(torch::tensor(std::vector<std::int64_t>(bits.begin(), bits.end())));
  initialised_.fill_(false);
}

std::vector<int> WeightQuantizerImpl::channel_bits() const {
  if (bits_.dim() == 0) return {};
  const torch::Tensor widths = bits_.contiguous();
  return std::vector<int>(widths.data_ptr<std::int64_t>(), widths.data_ptr<std::int64_t>() + widths.numel());
}

torch::Tensor WeightQuantizerImpl::positive_levels() const {
  const torch::Tensor widths = bits_.reshape({-1}).to(torch::kFloat64);
  const torch::Tensor levels = torch::pow(2.0, widths - 1) - 1;
  return torch::where(widths == 1, torch::ones_like(levels), levels).to(torch::kFloat32);
}

void WeightQuantizerImpl::keep_step_per_bits(const std::vector<int>& bits) { steps_per_bits_.add(*this, "step", step_, bits); }

torch::Tensor WeightQuantizerImpl::step() const { return positive_step(steps_per_bits_.value_or(bits(), step_)); }

void WeightQuantizerImpl::initialise(const torch::Tensor& weight) {
  torch::NoGradGuard no_grad;
  const torch::Tensor rows = per_channel_ ? weight.detach().flatten(1) : weight.detach().reshape({1, -1});
  const int b = bits();
  const torch::Tensor levels = positive_levels();
  // One-bit weights are sign(w) times the step, whose best value is mean |w| whatever the rule.
  const torch::Tensor binary = rows.abs().mean(1);
  const torch::Tensor step = torch::where(bits_.reshape({-1}) == 1, binary, rule_.initial_step(rows, levels));
  steps_per_bits_.value_or(b, step_).copy_(step.clamp_min(kMinimumStep));
  initialised_.fill_(true);
  steps_per_bits_.initialised.insert(b);
}

torch::Tensor WeightQuantizerImpl::forward(const torch::Tensor& weight) {
  const int b = bits();
  if (b >= kFloatBits) return weight;
  if (!initialised_.item<bool>()) initialise(weight);
  torch::Tensor step = positive_step(steps_per_bits_.value_or(b, step_));
  // One width computes with numbers (as PyTorch rounds them, see per_level), widths per channel with a
  // tensor of levels.
  const bool one_width = bits_.dim() == 0;
  const double one_level = b == 1 ? 1.0 : weight_range(b).positive;
  torch::Tensor levels = one_width ? torch::Tensor() : positive_levels();
  const auto numel = static_cast<double>(weight.numel());
  // LSQ's gradient scale keeps the step's update in proportion to the weights' whatever the init.
  step = one_width ? scale_gradient(step, 1.0 / std::sqrt(numel * one_level))
                   : scale_gradient(step, (1.0 / (levels.to(torch::kFloat64) * numel).sqrt()).to(step.scalar_type()));
  if (per_channel_) step = channel_view(step, weight);
  const torch::Tensor scaled = weight / step;
  if (one_width && b > 1) return round_ste(scaled.clamp(-one_level, one_level)) * step;
  const torch::Tensor unit = scaled.clamp(-1, 1);
  const torch::Tensor sign = torch::where(scaled >= 0, torch::ones_like(scaled), -torch::ones_like(scaled));
  const torch::Tensor binary = ((sign - unit).detach() + unit) * step;  // one-bit weights: sign times the step
  if (one_width) return binary;
  levels = channel_view(levels, weight);
  const torch::Tensor rounded = round_ste(torch::clamp(scaled, -levels, levels)) * step;
  return torch::where(channel_view(bits_, weight) == 1, binary, rounded);
}

torch::Tensor WeightQuantizerImpl::forward_at(const torch::Tensor& weight, const torch::Tensor& bits) {
  if (this->bits() >= kFloatBits) throw std::logic_error("a learned width starts from quantized weights");
  if (!initialised_.item<bool>()) initialise(weight);
  torch::Tensor clip = positive_step(steps_per_bits_.value_or(this->bits(), step_)) * positive_levels();
  if (per_channel_) clip = channel_view(clip, weight);
  const torch::Tensor level = torch::pow(2.0, bits - 1) - 1;
  // LSQ's gradient scale, here also what keeps the width's gradient (through the step, from every weight)
  // in proportion to the penalty's.
  const torch::Tensor step = scale_gradient(clip / level, (1.0 / (level.detach() * static_cast<double>(weight.numel())).sqrt()));
  return round_ste(torch::clamp(weight / step, -level, level)) * step;
}

ActivationQuantizerImpl::ActivationQuantizerImpl(const Quantizer& quantizer, bool is_signed)
    : rule_(quantizer.activations), is_signed_(is_signed) {
  clip_or_step_ = register_parameter("clip_or_step", torch::ones({1}), rule_.learns != ActivationLearns::Nothing);
  bits_ = register_buffer("bits", torch::tensor(std::int64_t{kFloatBits}));
  initialised_ = register_buffer("initialised", torch::tensor(false));
}

void ActivationQuantizerImpl::set_bits(int bits) {
  if (bits == this->bits()) return;
  bits_.fill_(bits);
  if (!steps_per_bits_.switch_to(bits, initialised_)) initialised_.fill_(false);
}

void ActivationQuantizerImpl::keep_step_per_bits(const std::vector<int>& bits) {
  if (rule_.learns == ActivationLearns::Nothing) throw std::logic_error("a calibrated clip has nothing to keep per bit width");
  steps_per_bits_.add(*this, "clip_or_step", clip_or_step_, bits);
}

torch::Tensor ActivationQuantizerImpl::step() const {
  const torch::Tensor value = steps_per_bits_.value_or(bits(), clip_or_step_);
  if (rule_.learns == ActivationLearns::Step) return positive_step(value);
  return positive_step(value) / activation_range(bits(), is_signed_).positive;
}

void ActivationQuantizerImpl::initialise(const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  const torch::Tensor magnitude = (is_signed_ ? input.abs() : input.clamp_min(0)).detach().flatten().to(torch::kFloat32);
  const double positive_level = activation_range(bits(), is_signed_).positive;
  const torch::Tensor value = rule_.initial_value(magnitude, positive_level);
  steps_per_bits_.value_or(bits(), clip_or_step_).copy_(value.clamp_min(kMinimumStep).reshape({1}));
  initialised_.fill_(true);
  steps_per_bits_.initialised.insert(bits());
}

torch::Tensor ActivationQuantizerImpl::forward_at(const torch::Tensor& input, const torch::Tensor& bits) {
  const int own = this->bits();
  if (own >= kFloatBits) throw std::logic_error("a learned width starts from quantized activations");
  if (!initialised_.item<bool>()) initialise(input);
  const torch::Tensor value = positive_step(steps_per_bits_.value_or(own, clip_or_step_));
  const torch::Tensor clip = rule_.learns == ActivationLearns::Step ? value * activation_range(own, is_signed_).positive : value;
  const torch::Tensor positive = is_signed_ ? torch::pow(2.0, bits - 1) - 1 : torch::pow(2.0, bits) - 1;
  const torch::Tensor negative = is_signed_ ? positive + 1 : torch::zeros_like(positive);
  const torch::Tensor step = scale_gradient(clip / positive, (1.0 / (positive.detach() * static_cast<double>(input.numel())).sqrt()));
  return round_ste(torch::clamp(input / step, -negative, positive)) * step;
}

torch::Tensor ActivationQuantizerImpl::forward(const torch::Tensor& input) {
  const int b = bits();
  if (b >= kFloatBits) return input;
  if (!initialised_.item<bool>()) initialise(input);
  const IntegerRange range = activation_range(b, is_signed_);
  if (rule_.learns == ActivationLearns::Step) {
    const torch::Tensor step = scale_gradient(positive_step(steps_per_bits_.value_or(b, clip_or_step_)), 1.0 / std::sqrt(input.numel() * range.positive));
    return round_ste((input / step).clamp(-range.negative, range.positive)) * step;
  }
  // Clip, then quantize the clipped range. A learned clip learns only through the clipping itself.
  const torch::Tensor clip = positive_step(steps_per_bits_.value_or(b, clip_or_step_));
  const torch::Tensor upper = torch::where(input < clip, input, clip);
  const torch::Tensor clipped = is_signed_ ? torch::where(upper > -clip, upper, -clip) : upper.clamp_min(0);
  const torch::Tensor step = clip.detach() / range.positive;
  return round_ste(clipped / step).clamp(-range.negative, range.positive) * step;
}

}  // namespace qxbar
