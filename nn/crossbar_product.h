#pragma once

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "sim/crossbar_arithmetic.h"

namespace qxbar {

// A layer's integer weights ([outputs, fan_in], integer-valued) as the chip's crossbars hold them once
// programmed: sliced cell levels, with programming noise and drift drawn from LibTorch's default generator
// where the chip has them. A chip is programmed once and then computes many products; a layer whose
// weights change is programmed anew.
class ProgrammedLayer {
 public:
  ProgrammedLayer(const CrossbarArithmetic& arithmetic, const torch::Tensor& integer_weight);

  // The crossbar arithmetic of sim/crossbar_arithmetic.h, vectorised: the chip's result for every row of
  // `integer_input` ([samples, fan_in], integer-valued) as float64 [samples, outputs]. Without noise equal
  // to reference_product bit for bit: every converted value is an integer and every sum of them is exact
  // in float64. Conversion noise is drawn from LibTorch's default generator.
  torch::Tensor product(const torch::Tensor& integer_input, SumRange calibrated = {}) const;

  // observed_sums over every row of `integer_input`: the range calibration fits for adc.range: calibrated.
  SumRange sum_range(const torch::Tensor& integer_input) const;

  const CrossbarArithmetic& arithmetic() const;

 private:
  class Cells;
  std::shared_ptr<const Cells> cells_;
};

// A layer whose output channels may differ in weight width, as channel_groups splits it: one
// ProgrammedLayer per width, each on its own channels' rows of the weights.
class ProgrammedChannels {
 public:
  ProgrammedChannels(const std::vector<ChannelGroup>& groups, const torch::Tensor& integer_weight);

  // [samples, outputs] as ProgrammedLayer::product, every channel computed at its own width.
  torch::Tensor product(const torch::Tensor& integer_input, SumRange calibrated = {}) const;
  // The union of every width's observed sums: the layer's one calibrated range.
  SumRange sum_range(const torch::Tensor& integer_input) const;
  AdcRange range() const;

 private:
  struct Width {
    torch::Tensor channels;  // int64 indices into the outputs
    ProgrammedLayer layer;
  };
  std::vector<Width> widths_;
  std::int64_t outputs_ = 0;
};

// Programs the weights and computes one product: ProgrammedLayer(arithmetic, integer_weight).product(...).
torch::Tensor crossbar_product(const CrossbarArithmetic& arithmetic, const torch::Tensor& integer_input,
                               const torch::Tensor& integer_weight, SumRange calibrated = {});

}  // namespace qxbar
