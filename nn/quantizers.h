#pragma once

#include <torch/torch.h>

#include <string>

namespace qxbar {

// Bits that mean "leave this tensor in floating point".
constexpr int kFloatBits = 32;

// Rounds in the forward pass and passes the gradient straight through.
torch::Tensor round_ste(const torch::Tensor& x);
// Leaves the value alone and multiplies the gradient by `factor` (LSQ's step-size gradient scaling).
torch::Tensor scale_gradient(const torch::Tensor& x, double factor);

// Integer range of a b-bit quantizer: [-negative, positive].
struct IntegerRange {
  double negative;
  double positive;
};
// Weights use the narrow symmetric range [-(2^(b-1) - 1), 2^(b-1) - 1] (zero stays exact, as Brevitas
// does for weights); activations use [0, 2^b - 1] unsigned or [-2^(b-1), 2^(b-1) - 1] signed.
IntegerRange weight_range(int bits);
IntegerRange activation_range(int bits, bool is_signed);

enum class WeightInit { MinMax, Mse, Lsq };
enum class ActivationInit { MinMax, Percentile, Pact, Lsq };

WeightInit parse_weight_init(const std::string& name);
ActivationInit parse_activation_init(const std::string& name);
const char* to_string(WeightInit init);
const char* to_string(ActivationInit init);

// Fake-quantizes weights to `bits` with a learned step size (per tensor, or per output channel): the step
// is initialised from the weights the first time they are seen at these bits (max |w|, the MSE-optimal
// clip, or LSQ's 2 mean|w| / sqrt(Qp)) and then trained with LSQ's gradient scale 1 / sqrt(numel * Qp),
// which keeps the step stable under plain SGD. One-bit weights are binary: sign(w) times the step.
class WeightQuantizerImpl : public torch::nn::Module {
 public:
  WeightQuantizerImpl(std::int64_t channels, WeightInit init, bool per_channel);
  torch::Tensor forward(const torch::Tensor& weight);
  void set_bits(int bits);
  int bits() const { return static_cast<int>(bits_.item<std::int64_t>()); }
  // Initialise the step again from the next weights seen (after the weights were transformed).
  void recalibrate() { initialised_.fill_(false); }
  // The step per output channel (one value broadcast when per tensor); valid once initialised.
  torch::Tensor step() const;

 private:
  void initialise(const torch::Tensor& weight);
  WeightInit init_;
  bool per_channel_;
  torch::Tensor step_;
  torch::Tensor bits_;
  torch::Tensor initialised_;
};
TORCH_MODULE(WeightQuantizer);

// Fake-quantizes activations to `bits`. MinMax and Percentile calibrate a clipping value on the first
// batch seen at these bits and keep it; PACT learns the clip (gradient 1 where the input is clipped); LSQ
// learns the step with scaled gradient. Signed quantizers clip symmetrically.
class ActivationQuantizerImpl : public torch::nn::Module {
 public:
  ActivationQuantizerImpl(ActivationInit init, bool is_signed);
  torch::Tensor forward(const torch::Tensor& input);
  void set_bits(int bits);
  int bits() const { return static_cast<int>(bits_.item<std::int64_t>()); }
  bool is_signed() const { return is_signed_; }
  torch::Tensor step() const;  // valid once initialised

 private:
  void initialise(const torch::Tensor& input);
  ActivationInit init_;
  bool is_signed_;
  torch::Tensor clip_or_step_;  // the clipping value, or LSQ's step
  torch::Tensor bits_;
  torch::Tensor initialised_;
};
TORCH_MODULE(ActivationQuantizer);

}  // namespace qxbar
