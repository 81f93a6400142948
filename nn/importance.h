#pragma once

#include <cstdint>
#include <vector>

#include "nn/data.h"
#include "nn/models.h"
#include "sim/core/indicators.h"

namespace qxbar {

// How LIMPQ's indicators are trained: which bit widths, for how long.
struct IndicatorTraining {
  std::vector<int> weight_bits;  // candidate widths of the searched layers
  std::vector<int> activation_bits;
  std::vector<bool> searched;    // per layer; the others keep the bits the model has
  int epochs = 0;  // at least 1; search/limpq.h holds the defaults
  double lr = 0;   // SGD with momentum 0.9, cosine-annealed
  std::int64_t batch_size = 128;
  std::uint64_t seed = 0;
  bool show_progress = true;
};

// Trains `model` once with one learned step per candidate bit width in every searched layer (LIMPQ's
// one-shot indicator training): each batch runs every uniform configuration (each width in turn, the
// nearest candidate where weights and activations differ in their candidates) and one random mix, the
// gradients accumulated, clipped to norm 1, one SGD step on weights and steps together. The quantizers
// should learn their steps (LSQ). Returns each layer's steps (empty for layers not searched). Throws
// DivergedError on a non-finite loss.
std::vector<LayerIndicators> train_importance_indicators(Model& model, const Dataset& train, const IndicatorTraining& options);

}  // namespace qxbar
