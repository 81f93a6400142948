#pragma once

#include <vector>

#include "sim/core/policy.h"

namespace qxbar {

// What a search asks of learned bit widths (Garg et al.): which layers, towards which averages, for how
// long. search/learned_bits.h holds the defaults; nn/learned_bits.h the meaning of each.
struct BitWidthRequest {
  std::vector<bool> searched;  // per layer; the others keep the bits the model has
  double target_weight_bits = 0;      // average over the searched layers, weighted by their weights
  double target_activation_bits = 0;  // the same, weighted by their input elements per sample
  double penalty = 0;  // lambda of the constrained loss
  int min_bits = 0;    // widths are kept within [min_bits, max_bits]; 2 at least
  int max_bits = 0;
  bool powers_of_two = false;  // round log2 of the width instead of the width: widths 2, 4, 8
  int epochs = 0;
  double lr = 0;        // the quantizers' steps and clips: SGD with momentum 0.9
  double width_lr = 0;  // the widths' log2: Adam
};

// Per-layer bit widths learned by gradient descent: the policy and what it scored, passed from the
// network's owner (nn/learned_bits.h) to the search that asked for it.
struct LearnedWidths {
  Policy policy;
  double weight_bits = 0;  // the averages the targets bound, over the layers learned
  double activation_bits = 0;
  double val_accuracy = -1;  // at these widths after the epoch that chose them
  int epoch = 0;             // that epoch, from 1
  bool meets_targets = false;
};

}  // namespace qxbar
