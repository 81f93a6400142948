#pragma once

#include <vector>

#include "search/algorithm.h"

namespace qxbar {

// Learned bit widths (Garg et al.), as recipes (search.learned_bits.<key>) and flags name them. The widths
// are bounded by the search's --min-bit (at least 2) and --max-bit; pinned layers stay at 8/8.
struct LearnedBitsOptions {
  double target_w_bits = 4;  // average weight bits of the searched layers, weighted by their weights
  double target_a_bits = 4;  // average input bits, weighted by the layers' input elements per sample
  double penalty = 1;        // lambda: how hard the averages are pushed to their targets
  int epochs = 3;            // over the search's training images; the best epoch on target is kept
  double lr = 0.01;          // quantizer steps and clips (SGD, cosine)
  double width_lr = 0.005;   // log2 of the widths (Adam): slow enough for the steps to follow
  bool powers_of_two = false;  // widths 2, 4 or 8 only
};

const std::vector<Option<LearnedBitsOptions>>& learned_bits_parameters();

SearchAlgorithmEntry learned_bits_algorithm();

}  // namespace qxbar
