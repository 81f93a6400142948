#pragma once

#include <map>

namespace qxbar {

// LIMPQ's importance indicators of one layer: the quantization step it learned at each candidate bit width,
// for its weights and for its input activations. A step that grows fast as the bits fall marks a layer
// whose accuracy depends on its bits.
struct LayerIndicators {
  std::map<int, double> weights;
  std::map<int, double> activations;
};

}  // namespace qxbar
