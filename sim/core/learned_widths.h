#pragma once

#include "sim/core/policy.h"

namespace qxbar {

// Per-layer bit widths learned by gradient descent (Garg et al.): the policy and what it scored, passed
// from the network's owner (nn/learned_bits.h) to the search that asked for it.
struct LearnedWidths {
  Policy policy;
  double weight_bits = 0;  // the averages the targets bound, over the layers learned
  double activation_bits = 0;
  double val_accuracy = -1;  // at these widths after the epoch that chose them
  int epoch = 0;             // that epoch, from 1
  bool meets_targets = false;
};

}  // namespace qxbar
