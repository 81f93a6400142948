#pragma once

#include <torch/torch.h>

#include "sim/crossbar_arithmetic.h"

namespace qxbar {

// The crossbar arithmetic of sim/crossbar_arithmetic.h, vectorised: the chip's result for every row of
// `integer_input` ([samples, fan_in], integer-valued) times `integer_weight` ([outputs, fan_in],
// integer-valued), as float64 [samples, outputs]. Equal to reference_product bit for bit: every converted
// value is an integer and every sum of them is exact in float64.
torch::Tensor crossbar_product(const CrossbarArithmetic& arithmetic, const torch::Tensor& integer_input,
                               const torch::Tensor& integer_weight, SumRange calibrated = {});

// observed_sums over every row of `integer_input`: the range calibration fits for adc.range: calibrated.
SumRange crossbar_sum_range(const CrossbarArithmetic& arithmetic, const torch::Tensor& integer_input,
                            const torch::Tensor& integer_weight);

}  // namespace qxbar
