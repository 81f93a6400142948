#include "search/space.h"

#include <algorithm>
#include <cassert>

#include "search/reward.h"
#include "sim/core/errors.h"

namespace qxbar {
namespace {

const Bits kReferenceBits{8, 8};

void check(SpaceOptions options) {
  check_values(space_options(options), "search");
  if (options.max_bits < options.min_bits) {
    throw ConfigError("search: max_bit " + std::to_string(options.max_bits) + " is below min_bit " +
                      std::to_string(options.min_bits));
  }
  if (options.cell_bits < 0) throw ConfigError("cell resolution " + std::to_string(options.cell_bits) + ": must be >= 0");
}

int round_up(int bits, int multiple) { return (bits + multiple - 1) / multiple * multiple; }

}  // namespace

OptionSet space_options(SpaceOptions& options) {
  using S = SpaceOptions;
  static const std::vector<Option<SpaceOptions>> table = {
      {"min_bit", "min-bit", "fewest bits of a layer", &S::min_bits, {1, kMaxPolicyBits}},
      {"max_bit", "max-bit", "most bits of a layer", &S::max_bits, {1, kMaxPolicyBits}},
      {"force_first_last", "force-first-last", "keep the first and last layer at 8/8 bits", &S::force_first_last},
  };
  return bind_options(table, options);
}

PolicySpace::PolicySpace(Workload workload, std::vector<LayerGeometry> geometry, SpaceOptions options)
    : workload_(std::move(workload)), options_(options) {
  check(options_);
  const std::size_t layers = workload_.layers.size();
  if (layers == 0) throw ConfigError(workload_.name + ": a search needs at least one layer");
  if (!geometry.empty() && geometry.size() != layers) {
    throw ConfigError(workload_.name + ": layer geometry for " + std::to_string(geometry.size()) + " of " +
                      std::to_string(layers) + " layers");
  }
  std::vector<std::vector<double>> raw(layers);
  for (std::size_t i = 0; i < layers; ++i) {
    const LayerShape& shape = workload_.layers[i];
    const LayerGeometry g = geometry.empty()
                                ? LayerGeometry{shape.input_dim, shape.output_dim, 1, 1, shape.mvm_invocations,
                                                shape.input_dim * shape.output_dim}
                                : geometry[i];
    geometry_.push_back(g);
    raw[i] = {static_cast<double>(i),
              shape.kind == LayerKind::Conv ? 1.0 : 0.0,
              static_cast<double>(g.in_channels),
              static_cast<double>(g.out_channels),
              static_cast<double>(g.kernel),
              static_cast<double>(g.stride),
              static_cast<double>(g.feature_size),
              static_cast<double>(g.parameters)};
  }
  // Each feature scaled by its range over the network, as HAQ does, so no feature dominates by its unit.
  layer_features_.assign(layers, std::vector<float>(raw.front().size(), 0.0F));
  for (std::size_t feature = 0; feature < raw.front().size(); ++feature) {
    double low = raw.front()[feature];
    double high = low;
    for (const auto& row : raw) {
      low = std::min(low, row[feature]);
      high = std::max(high, row[feature]);
    }
    for (std::size_t i = 0; i < layers; ++i) {
      layer_features_[i][feature] = high > low ? static_cast<float>((raw[i][feature] - low) / (high - low)) : 0.0F;
    }
  }
  for (std::size_t i = 0; i < layers; ++i) {
    if (is_pinned(i)) continue;
    decisions_.push_back({i, true});
    decisions_.push_back({i, false});
  }
  if (decisions_.empty()) {
    throw ConfigError(workload_.name + ": nothing to search: every layer is pinned (--force-first-last with " +
                      std::to_string(layers) + " layers)");
  }
}

std::vector<float> PolicySpace::state(std::size_t step, double previous_action) const {
  assert(step < decisions_.size());
  std::vector<float> state = layer_features_[decisions_[step].layer];
  state.push_back(decisions_[step].weights ? 1.0F : 0.0F);
  state.push_back(static_cast<float>(previous_action));
  assert(state.size() == kStateSize);
  return state;
}

int PolicySpace::bits_for(std::size_t step, double action) const {
  if (decisions_[step].weights && options_.cell_bits > 1) {
    return action_to_cell_bits(action, options_.min_bits, options_.max_bits, options_.cell_bits);
  }
  return action_to_bits(action, options_.min_bits, options_.max_bits);
}

Policy PolicySpace::policy_for(const std::vector<double>& actions) const {
  assert(actions.size() == decisions_.size());
  Policy policy = uniform_policy(workload_, kReferenceBits);
  for (std::size_t step = 0; step < decisions_.size(); ++step) {
    Bits& bits = policy.layers[decisions_[step].layer];
    (decisions_[step].weights ? bits.w : bits.a) = bits_for(step, actions[step]);
  }
  return policy;
}

std::vector<int> PolicySpace::weight_bit_choices() const {
  if (options_.cell_bits > 1) return cell_bit_choices(options_.min_bits, options_.max_bits, options_.cell_bits);
  return activation_bit_choices();
}

std::vector<int> PolicySpace::activation_bit_choices() const {
  std::vector<int> choices;
  for (int bits = options_.min_bits; bits <= options_.max_bits; ++bits) choices.push_back(bits);
  return choices;
}

bool PolicySpace::is_pinned(std::size_t layer) const {
  return options_.force_first_last && (layer == 0 || layer + 1 == workload_.layers.size());
}

std::vector<bool> PolicySpace::searched_layers(const std::string& algorithm) const {
  std::vector<bool> searched(workload_.layers.size());
  for (std::size_t l = 0; l < searched.size(); ++l) searched[l] = !is_pinned(l);
  if (std::none_of(searched.begin(), searched.end(), [](bool s) { return s; })) {
    throw ConfigError(algorithm + ": every layer is pinned at 8/8, nothing is left to search");
  }
  return searched;
}

Policy PolicySpace::pinned(Policy policy) const {
  if (options_.force_first_last) policy.layers.front() = policy.layers.back() = kReferenceBits;
  return policy;
}

Policy PolicySpace::reference() const { return uniform_policy(workload_, kReferenceBits); }

std::vector<PolicySpace::Baseline> PolicySpace::baselines(int cell_bits) const {
  std::vector<Baseline> baselines;
  const auto add = [&](Bits bits) {
    const Policy policy = pinned(uniform_policy(workload_, bits));
    const bool known = std::any_of(baselines.begin(), baselines.end(),
                                   [&](const Baseline& b) { return policy_summary(b.policy) == policy_summary(policy); });
    if (!known) baselines.push_back({"W" + std::to_string(bits.w) + "A" + std::to_string(bits.a), policy});
  };
  add(kReferenceBits);
  for (int bits = options_.max_bits; bits >= options_.min_bits; --bits) {
    add({bits, bits});
    if (cell_bits > 1 && bits % cell_bits != 0) add({round_up(bits, cell_bits), bits});
  }
  return baselines;
}

}  // namespace qxbar
