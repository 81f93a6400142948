#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "sim/core/options.h"
#include "sim/core/policy.h"
#include "sim/core/workload.h"

namespace qxbar {

struct SpaceOptions {
  int min_bits = 2;
  int max_bits = 8;
  // Weight bits restricted to multiples of the chip's cell resolution (CIM-AQ's consider_cell_resolution);
  // 0 leaves them free.
  int cell_bits = 0;
  bool force_first_last = false;  // first and last layer kept at 8/8 bits
};

// The bits a search may choose, as recipes (search.<key>) and `qxbar search` flags name them; cell_bits
// comes from the chip.
OptionSet space_options(SpaceOptions& options);

// One decision of an episode: the weight or the activation bits of one layer.
struct Decision {
  std::size_t layer = 0;
  bool weights = true;
};

// The environment HAQ and CIM-AQ search in: an episode walks the layers in execution order and decides
// each layer's weight bits, then its activation bits. Each step sees the layer's features scaled to [0, 1]
// over the network, whether it decides weights or activations, and the action of the step before.
class PolicySpace {
 public:
  // `geometry` may be empty (a workload read from a file): channels, kernel and feature size then come
  // from the matrix shape alone.
  PolicySpace(Workload workload, std::vector<LayerGeometry> geometry, SpaceOptions options);

  const Workload& workload() const { return workload_; }
  const SpaceOptions& options() const { return options_; }
  // How each layer's matrix arose; without traced geometry, a dense layer of the matrix's shape applied at
  // every invocation.
  const std::vector<LayerGeometry>& geometry() const { return geometry_; }
  // Whether `force_first_last` keeps the layer at 8/8.
  bool is_pinned(std::size_t layer) const;
  // Per layer, whether it is searched (not pinned); ConfigError naming `algorithm` when none is.
  std::vector<bool> searched_layers(const std::string& algorithm) const;
  // The decisions an agent makes, pinned layers left out.
  const std::vector<Decision>& decisions() const { return decisions_; }

  static constexpr std::size_t kStateSize = 10;
  // The state of step `step` of an episode whose previous step's action was `previous_action`.
  std::vector<float> state(std::size_t step, double previous_action) const;
  int bits_for(std::size_t step, double action) const;
  // Every width a searched layer may take, ascending.
  std::vector<int> weight_bit_choices() const;
  std::vector<int> activation_bit_choices() const;
  // The policy an episode's actions (one per decision, in [0, 1]) stand for; pinned layers at 8/8.
  Policy policy_for(const std::vector<double>& actions) const;

  // W8A8, the policy every cost is measured against.
  Policy reference() const;
  // W8A8, then uniform policies from max_bits down to min_bits, each followed, where cells of
  // `cell_bits` bits would not hold its weight bits exactly, by the same with weights rounded up to a
  // multiple of cell_bits; labelled like W4A4. Pinned layers stay at 8/8.
  struct Baseline {
    std::string label;
    Policy policy;
  };
  std::vector<Baseline> baselines(int cell_bits) const;

 private:
  Policy pinned(Policy policy) const;

  Workload workload_;
  SpaceOptions options_;
  std::vector<Decision> decisions_;
  std::vector<LayerGeometry> geometry_;
  std::vector<std::vector<float>> layer_features_;  // per layer, each feature scaled to [0, 1]
};

}  // namespace qxbar
