#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "nn/crossbar_product.h"
#include "nn/quantizers.h"
#include "sim/chip_spec.h"
#include "sim/crossbar_arithmetic.h"
#include "sim/core/policy.h"
#include "sim/core/workload.h"

namespace qxbar {

// How every quantizable layer of a network quantizes.
struct QuantOptions {
  const Quantizer* quantizer = &quantizers().entries().front();
  bool per_channel = false;
  // Quantize each convolution's weights with its batch norm folded in, as the chip holds them after
  // deployment, so that quantization-aware training learns the steps of the weights that are deployed.
  bool fold_batch_norm = true;
};

// The options the CLI and recipes name: a quantizer of quantizers(), per-channel weight steps, and how batch
// norms train with quantized weights (one of batch_norm_modes()).
QuantOptions quant_options(const std::string& quantizer, bool per_channel, const std::string& batch_norm);
std::vector<std::string> batch_norm_modes();


class LayerTracer;

// A layer's matrix product, convolution or linear map: (input, weight, bias) -> output.
using Product = std::function<torch::Tensor(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&)>;

// The exact int64 result of `product` on integer-valued float operands without bias. float32 products are
// many times faster than float64 ones, and exact while every partial sum stays below 2^24; the input is
// split into as many base-2^k digits as that needs, one float32 product per digit.
torch::Tensor exact_integer_product(const torch::Tensor& integer_input, const torch::Tensor& integer_weight,
                                    const Product& product);

// A convolution or dense layer whose weights and input activations are fake-quantized to bits set at run
// time. The bias is kept in int32 at the product of the weight and input steps.
class QuantLayer {
 public:
  virtual ~QuantLayer() = default;
  void set_bits(Bits bits);
  Bits bits() const;
  WeightQuantizer& weight_quantizer() { return weight_quantizer_; }
  ActivationQuantizer& input_quantizer() { return input_quantizer_; }
  virtual torch::Tensor& weight() = 0;
  // Integer arithmetic for the matrix product, as a CIM tile computes it: integer inputs and weights,
  // exact accumulation with the int32 bias, and the result rescaled by a fixed-point multiplier (31-bit
  // mantissa and a power of two) standing for the product of the steps.
  void set_integer_arithmetic(bool enabled) { integer_arithmetic_ = enabled; }
  // Integer arithmetic as `chip`'s crossbars compute it (sim/crossbar_arithmetic.h): sliced weights,
  // input bit-planes, row groups and converters. nullptr: exact integer products.
  void set_chip(std::shared_ptr<const ChipSpec> chip);
  // The chip holds the weights as last programmed, noise and all, until they change; this programs them
  // anew at the next product, drawing new programming noise.
  void reprogram();
  // While on, every product also widens the range fitted for adc.range: calibrated by the sums it sees, and
  // is computed exactly.
  void set_calibrating(bool calibrating);
  std::optional<SumRange> calibrated_range() const { return calibrated_range_; }
  // Widths held in tensors (learned bit widths) that the quantizers use instead of their own bits, in
  // floating-point arithmetic with the bias unquantized; undefined tensors return to the bits set.
  void set_learned_widths(torch::Tensor weight_bits, torch::Tensor input_bits);

 protected:
  QuantLayer() = default;
  void make_quantizers(torch::nn::Module& owner, std::int64_t out_channels, const QuantOptions& options, bool signed_input);
  // Quantized weight, input and bias for one forward; records the layer when a tracer listens.
  struct Operands {
    torch::Tensor input;
    torch::Tensor weight;
    torch::Tensor bias;
  };
  Operands quantize(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias);
  // The layer's product (convolution or linear map) of quantized operands, in floating point or in
  // integers as set_integer_arithmetic chooses.
  // How the product runs on crossbars: one row of fan-in inputs per MVM invocation.
  struct Lowering {
    std::function<torch::Tensor(const torch::Tensor& input)> rows;  // integers -> int32 [invocations, fan_in]
    std::function<torch::Tensor(const torch::Tensor& rows_out, const torch::Tensor& input)> output;  // inverse
    std::function<torch::Tensor(const torch::Tensor& weight)> matrix;  // -> [outputs, fan_in], as mapped
  };
  torch::Tensor multiply(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias,
                         const Product& product, const Lowering& lowering);
  void record(const torch::Tensor& input, const torch::Tensor& output, LayerKind kind, std::int64_t input_dim,
              std::int64_t output_dim, const LayerGeometry& geometry);

 private:
  WeightQuantizer weight_quantizer_{nullptr};
  ActivationQuantizer input_quantizer_{nullptr};
  std::optional<double> read_energy_fj_per_cell_;  // the policy's, for the chip's noise and energy
  // The product of quantized operands in integers (exact, or as the chip computes them), rescaled to real
  // units by the fixed-point multiplier.
  torch::Tensor integer_result(const Operands& q, const Product& product, const Lowering& lowering);
  // The integer product of one forward: exact, or as the chip computes it.
  torch::Tensor integer_product(const torch::Tensor& integer_input, const torch::Tensor& integer_weight,
                                const Product& product, const Lowering& lowering);
  bool integer_arithmetic_ = false;
  // The weights as programmed on the chip, with the integer weights and bits they were programmed from.
  const ProgrammedChannels& programmed_layer(const torch::Tensor& integer_weight);
  std::shared_ptr<const ChipSpec> chip_;
  std::optional<ProgrammedChannels> programmed_;
  torch::Tensor programmed_weight_;
  Bits programmed_bits_;
  bool calibrating_ = false;
  std::optional<SumRange> calibrated_range_;
  torch::Tensor learned_weight_bits_;
  torch::Tensor learned_input_bits_;
};

// Collects the quantizable layers in the order a forward pass runs them, with their crossbar shapes.
class LayerTracer {
 public:
  struct Entry {
    QuantLayer* layer;
    LayerShape shape;
    LayerGeometry geometry;
  };
  std::vector<Entry> entries;

  // The tracer layers report to while it is alive (one at a time, on the thread that runs the forward).
  class Scope {
   public:
    explicit Scope(LayerTracer& tracer);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    LayerTracer* previous_;
  };
  static LayerTracer* active();
};

// What folding `norm` into the convolution before it does: multiply the weights by `scale` per output
// channel (gamma / sqrt(running variance + eps)) and replace the bias (undefined: none) by `bias`.
struct BatchNormFolding {
  torch::Tensor scale;
  torch::Tensor bias;
};
BatchNormFolding batch_norm_folding(const torch::nn::BatchNorm2d& norm, const torch::Tensor& conv_bias);

class QuantConv2dImpl : public torch::nn::Module, public QuantLayer {
 public:
  QuantConv2dImpl(const torch::nn::Conv2dOptions& conv, const QuantOptions& quant, bool signed_input = false);
  torch::Tensor forward(const torch::Tensor& input);
  torch::Tensor& weight() override { return conv->weight; }
  // While the weights are quantized, quantize them as folding `norm` deploys them and divide the product
  // by the folding scale again: `norm`, which the network applies next, then normalises as usual (batch
  // statistics in training), and in evaluation the pair computes what the folded convolution computes.
  void fold_in_training(torch::nn::BatchNorm2d norm) { folded_norm_ = std::move(norm); }
  torch::nn::Conv2d conv{nullptr};

 private:
  Lowering lowering() const;
  torch::nn::BatchNorm2d folded_norm_{nullptr};
};
TORCH_MODULE(QuantConv2d);

class QuantLinearImpl : public torch::nn::Module, public QuantLayer {
 public:
  QuantLinearImpl(const torch::nn::LinearOptions& linear, const QuantOptions& quant, bool signed_input = false);
  torch::Tensor forward(const torch::Tensor& input);
  torch::Tensor& weight() override { return linear->weight; }
  torch::nn::Linear linear{nullptr};
};
TORCH_MODULE(QuantLinear);

}  // namespace qxbar
