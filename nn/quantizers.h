#pragma once

#include <torch/torch.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "sim/core/registry.h"

namespace qxbar {

// Bits that mean "leave this tensor in floating point".
constexpr int kFloatBits = 32;

// Rounds in the forward pass and passes the gradient straight through.
torch::Tensor round_ste(const torch::Tensor& x);
// Leaves the value alone and multiplies the gradient by `factor` (LSQ's step-size gradient scaling).
torch::Tensor scale_gradient(const torch::Tensor& x, double factor);
// The same with one factor per element of x.
torch::Tensor scale_gradient(const torch::Tensor& x, const torch::Tensor& factor);

// Integer range of a b-bit quantizer: [-negative, positive].
struct IntegerRange {
  double negative;
  double positive;
};
// Weights use the narrow symmetric range [-(2^(b-1) - 1), 2^(b-1) - 1] (zero stays exact, as Brevitas
// does for weights); activations use [0, 2^b - 1] unsigned or [-2^(b-1), 2^(b-1) - 1] signed.
IntegerRange weight_range(int bits);
IntegerRange activation_range(int bits, bool is_signed);

// How a weight quantizer sets its step the first time it sees the weights at some bits: `rows` holds one
// row per step (an output channel, or all weights for a per-tensor step) and `positive_levels` each row's
// largest integer level (one value per row); the result is one step per row.
struct WeightRule {
  const char* name;
  torch::Tensor (*initial_step)(const torch::Tensor& rows, const torch::Tensor& positive_levels);
};

// What an activation quantizer trains: nothing (a calibrated clip), the clip (PACT) or the step (LSQ).
enum class ActivationLearns { Nothing, Clip, Step };

// How an activation quantizer starts: from the magnitudes of the first batch seen at some bits, the clip
// (or, when it learns the step, the step).
struct ActivationRule {
  const char* name;
  ActivationLearns learns;
  torch::Tensor (*initial_value)(const torch::Tensor& magnitudes, double positive_level);
};

// A quantizer as the CLI and recipes name it: a rule for weights and one for activations. The first entry
// of quantizers() is the default.
struct Quantizer {
  const char* name;
  const char* help;
  WeightRule weights;
  ActivationRule activations;
};
const Registry<Quantizer>& quantizers();
std::vector<std::string> quantizer_names();

// The learned values a quantizer keeps one of per bit width, registered as parameters "<name>_<bits>b".
struct StepsPerBits {
  std::map<int, torch::Tensor> values;
  std::set<int> initialised;
  void add(torch::nn::Module& owner, const std::string& name, const torch::Tensor& like, const std::vector<int>& bits);
  // Points the quantizer at the value for `bits` when it keeps one; false when it does not.
  bool switch_to(int bits, torch::Tensor& initialised_flag) const;
  // The value kept for `bits` (sharing its storage), or `fallback`.
  torch::Tensor value_or(int bits, const torch::Tensor& fallback) const;
};

// Fake-quantizes weights to `bits` with a learned step size (per tensor, or per output channel): the step
// is initialised by the quantizer's weight rule the first time the weights are seen at these bits and then
// trained with LSQ's gradient scale 1 / sqrt(numel * Qp),
// which keeps the step stable under plain SGD. One-bit weights are binary: sign(w) times the step.
// With a step per output channel, each channel may also take its own width (set_channel_bits).
class WeightQuantizerImpl : public torch::nn::Module {
 public:
  WeightQuantizerImpl(std::int64_t channels, const Quantizer& quantizer, bool per_channel);
  torch::Tensor forward(const torch::Tensor& weight);
  void set_bits(int bits);
  // One width per output channel. Throws ConfigError without a step per channel and DataError when the
  // widths do not give one per channel.
  void set_channel_bits(const std::vector<int>& bits);
  // The widest channel's bits.
  int bits() const { return static_cast<int>((bits_.dim() == 0 ? bits_ : bits_.max()).item<std::int64_t>()); }
  // The width of each output channel when they were set per channel; empty otherwise.
  std::vector<int> channel_bits() const;
  // Fake-quantizes at a width held in a tensor (learned bit widths, Garg et al.): integer-valued in the
  // forward pass (at least 2), its gradient reaching the width through the step (scaled as LSQ scales a
  // step's). The clip stays the one the quantizer holds at its own bits (step times largest level), so the
  // step at `bits` is that clip over 2^(bits-1) - 1 and learns with it.
  torch::Tensor forward_at(const torch::Tensor& weight, const torch::Tensor& bits);
  // Initialise the step again from the next weights seen (after the weights were transformed).
  void recalibrate() { initialised_.fill_(false); }
  // The step per output channel (one value broadcast when per tensor); valid once initialised.
  torch::Tensor step() const;
  // One learned step per bit width in `bits` (LIMPQ's importance indicators): changing to one of them
  // switches to its own step, initialised the first time and trained from then on, instead of initialising
  // the one step afresh.
  void keep_step_per_bits(const std::vector<int>& bits);

 private:
  void initialise(const torch::Tensor& weight);
  // Each step's largest integer level (1 for binary weights): [1] or [channels] as the steps are.
  torch::Tensor positive_levels() const;
  WeightRule rule_;
  bool per_channel_;
  std::int64_t channels_;
  torch::Tensor step_;
  torch::Tensor bits_;  // a scalar, or one width per channel
  torch::Tensor initialised_;
  StepsPerBits steps_per_bits_;
};
TORCH_MODULE(WeightQuantizer);

// Fake-quantizes activations to `bits`. A calibrated clip is set on the first batch seen at these bits and
// kept; a learned clip (PACT) trains with gradient 1 where the input is clipped; a learned step (LSQ) trains
// with LSQ's scaled gradient. Signed quantizers clip symmetrically.
class ActivationQuantizerImpl : public torch::nn::Module {
 public:
  ActivationQuantizerImpl(const Quantizer& quantizer, bool is_signed);
  torch::Tensor forward(const torch::Tensor& input);
  // As WeightQuantizerImpl::forward_at: the clip held at the quantizer's own bits, split into the levels
  // of `bits`.
  torch::Tensor forward_at(const torch::Tensor& input, const torch::Tensor& bits);
  void set_bits(int bits);
  int bits() const { return static_cast<int>(bits_.item<std::int64_t>()); }
  bool is_signed() const { return is_signed_; }
  torch::Tensor step() const;  // valid once initialised
  // As WeightQuantizerImpl::keep_step_per_bits, for a quantizer that learns its step or clip.
  void keep_step_per_bits(const std::vector<int>& bits);

 private:
  void initialise(const torch::Tensor& input);
  ActivationRule rule_;
  bool is_signed_;
  torch::Tensor clip_or_step_;  // the clipping value, or LSQ's step
  torch::Tensor bits_;
  torch::Tensor initialised_;
  StepsPerBits steps_per_bits_;
};
TORCH_MODULE(ActivationQuantizer);

}  // namespace qxbar
