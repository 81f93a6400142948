#include "nn/quant_layers.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "nn/crossbar_product.h"
#include "sim/core/errors.h"

namespace qxbar {
namespace {

thread_local LayerTracer* active_tracer = nullptr;

}  // namespace

LayerTracer::Scope::Scope(LayerTracer& tracer) : previous_(active_tracer) { active_tracer = &tracer; }
LayerTracer::Scope::~Scope() { active_tracer = previous_; }
LayerTracer* LayerTracer::active() { return active_tracer; }

torch::Tensor exact_integer_product(const torch::Tensor& integer_input, const torch::Tensor& integer_weight,
                                    const Product& product) {
  constexpr double kExactFloat32 = 16777216.0;  // 2^24
  const double terms = static_cast<double>(integer_weight[0].numel());
  const double weight_bound = integer_weight.abs().max().item<double>();
  const double input_bound = integer_input.abs().max().item<double>();
  if (weight_bound * terms >= kExactFloat32) {
    // Not even one-bit digits would be exact: integers up to 2^53 are, in float64.
    return product(integer_input, integer_weight, {}).to(torch::kInt64);
  }
  const torch::Tensor weight = integer_weight.to(torch::kFloat32);
  if (input_bound * weight_bound * terms < kExactFloat32) {
    return product(integer_input.to(torch::kFloat32), weight, {}).to(torch::kInt64);
  }
  const int digit_bits = static_cast<int>(std::floor(std::log2(kExactFloat32 / (weight_bound * terms) + 1.0)));
  const double base = std::ldexp(1.0, digit_bits);
  torch::Tensor remaining = integer_input;
  torch::Tensor result;
  double place = 1.0;
  // Floor division leaves digits in [0, base) and carries the sign in the highest one.
  for (double bound = input_bound; ; bound = std::floor(bound / base) + 1.0) {
    const bool last = bound * weight_bound * terms < kExactFloat32;
    const torch::Tensor digit = last ? remaining : remaining - torch::floor(remaining / base) * base;
    const torch::Tensor part = product(digit.to(torch::kFloat32), weight, {}).to(torch::kInt64) * static_cast<std::int64_t>(place);
    result = result.defined() ? result + part : part;
    if (last) return result;
    remaining = torch::floor(remaining / base);
    place *= base;
  }
}

// The first mode folds.
std::vector<std::string> batch_norm_modes() { return {"folded", "separate"}; }

QuantOptions quant_options(const std::string& quantizer, bool per_channel, const std::string& batch_norm) {
  const std::vector<std::string> modes = batch_norm_modes();
  if (std::find(modes.begin(), modes.end(), batch_norm) == modes.end()) {
    throw ConfigError("unknown batch norm mode '" + batch_norm + "' (choose " + choices_text(modes) + ")");
  }
  return {&quantizers().at(quantizer), per_channel, batch_norm == modes.front()};
}

void QuantLayer::make_quantizers(torch::nn::Module& owner, std::int64_t out_channels, const QuantOptions& options,
                                 bool signed_input) {
  weight_quantizer_ = owner.register_module("weight_quantizer",
                                            WeightQuantizer(out_channels, *options.quantizer, options.per_channel));
  input_quantizer_ = owner.register_module("input_quantizer", ActivationQuantizer(*options.quantizer, signed_input));
}

void QuantLayer::set_bits(Bits bits) {
  if (bits.is_per_channel()) {
    weight_quantizer_->set_channel_bits(bits.channel_w);
  } else {
    weight_quantizer_->set_bits(bits.w);
  }
  input_quantizer_->set_bits(bits.a);
  read_energy_fj_per_cell_ = bits.read_energy_fj_per_cell;
}

Bits QuantLayer::bits() const {
  std::vector<int> channels = weight_quantizer_->channel_bits();
  if (!channels.empty()) return Bits::per_channel(std::move(channels), input_quantizer_->bits(), read_energy_fj_per_cell_);
  return {weight_quantizer_->bits(), input_quantizer_->bits(), read_energy_fj_per_cell_};
}

void QuantLayer::set_learned_widths(torch::Tensor weight_bits, torch::Tensor input_bits) {
  learned_weight_bits_ = std::move(weight_bits);
  learned_input_bits_ = std::move(input_bits);
}

QuantLayer::Operands QuantLayer::quantize(const torch::Tensor& input, const torch::Tensor& weight,
                                          const torch::Tensor& bias) {
  if (learned_weight_bits_.defined()) {
    return {input_quantizer_->forward_at(input, learned_input_bits_), weight_quantizer_->forward_at(weight, learned_weight_bits_), bias};
  }
  Operands operands{input_quantizer_->forward(input), weight_quantizer_->forward(weight), bias};
  if (bias.defined() && weight_quantizer_->bits() < kFloatBits && input_quantizer_->bits() < kFloatBits) {
    // int32 accumulator scale: the product of the input step and each output channel's weight step.
    const torch::Tensor step = weight_quantizer_->step() * input_quantizer_->step();
    constexpr double kInt32 = std::numeric_limits<std::int32_t>::max();
    operands.bias = round_ste((bias / step).clamp(-kInt32, kInt32)) * step;
  }
  return operands;
}

void QuantLayer::set_calibrating(bool calibrating) {
  if (calibrating && !calibrating_) calibrated_range_.reset();
  calibrating_ = calibrating;
}

torch::Tensor QuantLayer::integer_product(const torch::Tensor& integer_input, const torch::Tensor& integer_weight,
                                          const Product& product, const Lowering& lowering) {
  if (chip_ == nullptr) return exact_integer_product(integer_input, integer_weight, product);
  const torch::Tensor rows = lowering.rows(integer_input);
  const torch::Tensor matrix = lowering.matrix(integer_weight);
  const ProgrammedChannels& programmed = programmed_layer(matrix);
  if (calibrating_) {
    const SumRange seen = programmed.sum_range(rows);
    calibrated_range_ = calibrated_range_ ? SumRange{std::min(calibrated_range_->low, seen.low),
                                                     std::max(calibrated_range_->high, seen.high)}
                                          : seen;
    return exact_integer_product(integer_input, integer_weight, product);
  }
  if (programmed.range() == AdcRange::Calibrated && !calibrated_range_) {
    throw ConfigError("adc.range: calibrated: the converters' ranges must be calibrated before the chip computes");
  }
  const SumRange calibrated = calibrated_range_.value_or(SumRange{});
  return lowering.output(programmed.product(rows, calibrated), integer_input).to(torch::kInt64);
}

const ProgrammedChannels& QuantLayer::programmed_layer(const torch::Tensor& integer_weight) {
  const Bits now = bits();
  const bool current = programmed_ && programmed_bits_ == now && torch::equal(programmed_weight_, integer_weight);
  if (!current) {
    programmed_.emplace(channel_groups(*chip_, integer_weight.size(1), integer_weight.size(0), now, input_quantizer_->is_signed()),
                        integer_weight);
    programmed_weight_ = integer_weight;
    programmed_bits_ = now;
  }
  return *programmed_;
}

void QuantLayer::set_chip(std::shared_ptr<const ChipSpec> chip) {
  chip_ = std::move(chip);
  reprogram();
}

void QuantLayer::reprogram() {
  programmed_.reset();
  programmed_weight_ = torch::Tensor();
}

torch::Tensor QuantLayer::multiply(const torch::Tensor& input, const torch::Tensor& weight, const torch::Tensor& bias,
                                   const Product& product, const Lowering& lowering) {
  const Operands q = quantize(input, weight, bias);
  const bool quantized = weight_quantizer_->bits() < kFloatBits && input_quantizer_->bits() < kFloatBits;
  if (!integer_arithmetic_ || !quantized || learned_weight_bits_.defined()) return product(q.input, q.weight, q.bias);
  if (chip_ != nullptr && torch::GradMode::is_enabled()) {
    // Chip-aware training: the forward pass computes what the chip computes, the gradient flows as through
    // the fake-quantized product, straight through the converters.
    const torch::Tensor ideal = product(q.input, q.weight, q.bias);
    return ideal + (integer_result(q, product, lowering) - ideal).detach();
  }
  return integer_result(q, product, lowering);
}

torch::Tensor QuantLayer::integer_result(const Operands& q, const Product& product, const Lowering& lowering) {
  const torch::NoGradGuard no_grad;
  const torch::Tensor input_step = input_quantizer_->step().to(torch::kFloat64);
  const torch::Tensor weight_step = weight_quantizer_->step().to(torch::kFloat64);
  std::vector<std::int64_t> channel_shape(static_cast<std::size_t>(q.weight.dim()), 1);
  channel_shape[0] = weight_step.numel();
  const torch::Tensor integer_input = (q.input.to(torch::kFloat64) / input_step).round();
  const torch::Tensor integer_weight = (q.weight.to(torch::kFloat64) / weight_step.view(channel_shape)).round();
  const torch::Tensor product_step = weight_step * input_step;
  torch::Tensor accumulator = integer_product(integer_input, integer_weight, product, lowering);
  if (q.bias.defined()) {
    std::vector<std::int64_t> bias_shape(static_cast<std::size_t>(accumulator.dim()), 1);
    bias_shape[1] = q.bias.numel();
    accumulator += (q.bias.to(torch::kFloat64) / product_step).round().to(torch::kInt64).view(bias_shape);
  }
  const auto [mantissa, exponent] = torch::frexp(product_step);
  const torch::Tensor multiplier = (mantissa * std::ldexp(1.0, 31)).round().to(torch::kInt64);
  std::vector<std::int64_t> output_shape(static_cast<std::size_t>(accumulator.dim()), 1);
  output_shape[1] = multiplier.numel();
  const torch::Tensor scale = torch::pow(2.0, exponent.to(torch::kFloat64) - 31);
  return ((accumulator * multiplier.view(output_shape)).to(torch::kFloat64) * scale.view(output_shape)).to(q.input.scalar_type());
}

void QuantLayer::record(const torch::Tensor& input, const torch::Tensor& output, LayerKind kind, std::int64_t input_dim,
                        std::int64_t output_dim, const LayerGeometry& geometry) {
  LayerTracer* tracer = LayerTracer::active();
  if (tracer == nullptr) return;
  // One MVM per output pixel (convolutions) or per input row (dense layers), for one sample.
  const std::int64_t invocations = output.dim() == 4 ? output.size(2) * output.size(3) : input.numel() / input.size(-1) / input.size(0);
  tracer->entries.push_back({this, {"", kind, input_dim, output_dim, invocations, 1}, geometry});
}

QuantConv2dImpl::QuantConv2dImpl(const torch::nn::Conv2dOptions& options, const QuantOptions& quant, bool signed_input) {
  conv = register_module("conv", torch::nn::Conv2d(options));
  make_quantizers(*this, options.out_channels(), quant, signed_input);
}

BatchNormFolding batch_norm_folding(const torch::nn::BatchNorm2d& norm, const torch::Tensor& conv_bias) {
  const torch::Tensor scale = norm->weight / torch::sqrt(norm->running_var + norm->options.eps());
  const torch::Tensor bias = conv_bias.defined() ? conv_bias : torch::zeros_like(scale);
  return {scale, (bias - norm->running_mean) * scale + norm->bias};
}

QuantLayer::Lowering QuantConv2dImpl::lowering() const {
  const auto& options = conv->options;
  const std::int64_t groups = options.groups();
  const auto padding = c10::get<torch::ExpandingArray<2>>(options.padding());
  const torch::nn::functional::UnfoldFuncOptions unfold =
      torch::nn::functional::UnfoldFuncOptions(options.kernel_size()).dilation(options.dilation()).padding(padding).stride(options.stride());
  const std::int64_t outputs = options.out_channels();
  const auto output_side = [&options, padding](std::int64_t side, int dimension) {
    const std::int64_t reach = options.dilation()->at(dimension) * (options.kernel_size()->at(dimension) - 1) + 1;
    return (side + 2 * padding->at(dimension) - reach) / options.stride()->at(dimension) + 1;
  };
  // unfold orders each patch as (channel, kernel row, kernel column), the order of the flattened weights.
  return {[unfold](const torch::Tensor& x) {
            // One gather of the integer input instead of unfolding it and transposing the patches: the gather's
            // indices come from unfolding the element numbers of one sample, so they follow unfold's order, and
            // padding reads a zero appended after the sample's last element.
            const std::int64_t elements = x[0].numel();
            const torch::Tensor numbers = torch::arange(1, elements + 1, torch::kFloat64).view({1, x.size(1), x.size(2), x.size(3)});
            const torch::Tensor patches = torch::nn::functional::unfold(numbers, unfold)[0].t();  // [positions, fan_in]
            const torch::Tensor index = (patches - 1).remainder(static_cast<double>(elements + 1)).to(torch::kInt64).flatten();
            const torch::Tensor padded = torch::constant_pad_nd(x.to(torch::kInt32).flatten(1), {0, 1});
            return padded.gather(1, index.expand({x.size(0), -1})).view({-1, patches.size(1)});
          },
          [outputs, output_side](const torch::Tensor& rows_out, const torch::Tensor& x) {
            const std::int64_t height = output_side(x.size(2), 0);
            const std::int64_t width = output_side(x.size(3), 1);
            return rows_out.reshape({x.size(0), height * width, outputs}).transpose(1, 2).reshape({x.size(0), outputs, height, width});
          },
          // A grouped convolution is mapped block-diagonally (see the workload recorded in forward): each
          // group's outputs hold its weights on its own channels' rows and zero cells on the others'.
          [groups](const torch::Tensor& weight) {
            const torch::Tensor flat = weight.reshape({weight.size(0), -1});
            if (groups == 1) return flat;
            const std::int64_t group_outputs = weight.size(0) / groups;
            const std::int64_t group_fan_in = flat.size(1);
            torch::Tensor matrix = torch::zeros({groups, group_outputs, groups, group_fan_in}, flat.options());
            const torch::Tensor diagonal = torch::arange(groups);
            matrix.index_put_({diagonal, torch::indexing::Slice(), diagonal},
                              flat.reshape({groups, group_outputs, group_fan_in}));
            return matrix.reshape({weight.size(0), groups * group_fan_in});
          }};
}

torch::Tensor QuantConv2dImpl::forward(const torch::Tensor& input) {
  const auto& options = conv->options;
  const Product product = [&](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    return torch::nn::functional::detail::conv2d(x, w, b, options.stride(), c10::get<torch::ExpandingArray<2>>(options.padding()),
                                                 options.dilation(), options.groups());
  };
  torch::Tensor output;
  if (folded_norm_ && bits().w < kFloatBits) {
    const BatchNormFolding folding = batch_norm_folding(folded_norm_, conv->bias);
    const torch::Tensor weight = conv->weight * folding.scale.view({-1, 1, 1, 1});
    if (is_training()) {
      output = multiply(input, weight, {}, product, lowering());
    } else {
      // The batch norm adds the folded bias back; adding it here and taking it away again leaves its int32
      // rounding in, as the deployed convolution has it.
      const torch::Tensor bias = folding.bias.view({1, -1, 1, 1});
      output = multiply(input, weight, folding.bias, product, lowering()) - bias;
    }
    output = output / folding.scale.view({1, -1, 1, 1});
    if (conv->bias.defined()) output = output + conv->bias.view({1, -1, 1, 1});
  } else {
    output = multiply(input, conv->weight, conv->bias, product, lowering());
  }
  // A depthwise or grouped convolution maps block-diagonally: every group's Cin/groups * k * k rows feed
  // only that group's outputs, all groups side by side in one matrix of in_channels * k * k rows.
  const std::int64_t kernel = options.kernel_size()->at(0) * options.kernel_size()->at(1);
  const std::int64_t feature_size = input.dim() == 4 ? input.size(2) * input.size(3) : 1;
  record(input, output, LayerKind::Conv, options.in_channels() * kernel, options.out_channels(),
         {options.in_channels(), options.out_channels(), options.kernel_size()->at(0), options.stride()->at(0), feature_size,
          conv->weight.numel()});
  return output;
}

QuantLinearImpl::QuantLinearImpl(const torch::nn::LinearOptions& options, const QuantOptions& quant, bool signed_input) {
  linear = register_module("linear", torch::nn::Linear(options));
  make_quantizers(*this, options.out_features(), quant, signed_input);
}

torch::Tensor QuantLinearImpl::forward(const torch::Tensor& input) {
  const std::int64_t outputs = linear->options.out_features();
  const Lowering lowering{[](const torch::Tensor& x) { return x.reshape({-1, x.size(-1)}).to(torch::kInt32); },
                          [outputs](const torch::Tensor& rows_out, const torch::Tensor& x) {
                            std::vector<std::int64_t> shape = x.sizes().vec();
                            shape.back() = outputs;
                            return rows_out.reshape(shape);
                          },
                          [](const torch::Tensor& weight) { return weight; }};
  const torch::Tensor output = multiply(input, linear->weight, linear->bias,
                                        [](const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
                                          return torch::nn::functional::linear(x, w, b);
                                        },
                                        lowering);
  record(input, output, LayerKind::Dense, linear->options.in_features(), linear->options.out_features(),
         {linear->options.in_features(), linear->options.out_features(), 1, 1, 1, linear->weight.numel()});
  return output;
}

}  // namespace qxbar
