#pragma once

#include <cstdint>
#include <vector>

#include "nn/data.h"
#include "nn/models.h"
#include "sim/core/learned_widths.h"

namespace qxbar {

// A request as a search makes it, and how the training runs.
struct BitWidthLearning : BitWidthRequest {
  std::int64_t batch_size = 128;
  std::uint64_t seed = 0;
  bool show_progress = true;
};

// Learns a bit width for the weights and one for the inputs of every searched layer of `model` (a
// quantized checkpoint's network): log2 of each width is a trained parameter, kept within the bounds
// after every step; the width used is 2^log2 rounded with a straight-through estimator; only the widths
// and the quantizers' steps and clips train, under cross entropy + penalty * (relu(avg_w - target_w) + relu(avg_a - target_a)). A
// width's quantizer keeps the clip it holds at the model's bits and splits it into the width's levels.
// After every epoch the rounded widths are validated; the best epoch that meets both targets is kept
// (the last epoch when none does). The model's weights and batch-norm statistics are left as they were
// (it runs in eval mode); its quantizers' steps and clips are not. Throws DivergedError on a non-finite loss.
LearnedWidths learn_bit_widths(Model& model, const DataSplits& data, const BitWidthLearning& options);

}  // namespace qxbar
