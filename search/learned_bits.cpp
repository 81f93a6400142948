#include "search/learned_bits.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "sim/core/errors.h"

namespace qxbar {
namespace {

// A width below 2 has no level between zero and its clip to learn towards.
constexpr int kNarrowestLearnedWidth = 2;

LearnedWidths learn(const LearnedBitsOptions& options, const SearchContext& context) {
  const SpaceOptions& space = context.space.options();
  BitWidthRequest request;
  request.searched = context.space.searched_layers("learned-bits");
  request.target_weight_bits = options.target_w_bits;
  request.target_activation_bits = options.target_a_bits;
  request.penalty = options.penalty;
  request.min_bits = std::max(space.min_bits, kNarrowestLearnedWidth);
  request.max_bits = space.max_bits;
  if (request.min_bits > request.max_bits) {
    throw ConfigError("learned-bits: widths are learned from 2 bits up, and --max-bit is " + std::to_string(space.max_bits));
  }
  request.powers_of_two = options.powers_of_two;
  request.epochs = options.epochs;
  request.lr = options.lr;
  request.width_lr = options.width_lr;
  LearnedWidths learned = context.bit_widths->learned_widths(request);
  if (!learned.meets_targets) {
    spdlog::warn("learned-bits: no epoch met the targets ({} weight, {} activation bits); the last epoch's widths "
                 "average {:.3g} and {:.3g}: raise search.learned-bits.penalty or epochs",
                 options.target_w_bits, options.target_a_bits, learned.weight_bits, learned.activation_bits);
  }
  return learned;
}

}  // namespace

const std::vector<Option<LearnedBitsOptions>>& learned_bits_parameters() {
  using O = LearnedBitsOptions;
  constexpr double kNoMaximum = std::numeric_limits<double>::infinity();
  static const std::vector<Option<LearnedBitsOptions>> parameters = {
      {"target_w_bits", "target-w-bits", "learned-bits: target average weight bits of the searched layers", &O::target_w_bits, {2, 16}},
      {"target_a_bits", "target-a-bits", "learned-bits: target average activation bits of the searched layers", &O::target_a_bits, {2, 16}},
      {"penalty", "width-penalty", "learned-bits: weight of the averages' excess over their targets in the loss", &O::penalty, {0}},
      {"epochs", "width-epochs", "learned-bits: epochs over the search's training images", &O::epochs, {1}},
      {"lr", "width-step-lr", "learned-bits: learning rate of the quantizers' steps and clips (SGD, cosine)", &O::lr, {0, kNoMaximum, true}},
      {"width_lr", "width-lr", "learned-bits: learning rate of the widths' log2 (Adam)", &O::width_lr, {0, kNoMaximum, true}},
      {"powers_of_two", "width-powers-of-two", "learned-bits: widths 2, 4 or 8 only", &O::powers_of_two},
  };
  return parameters;
}

SearchAlgorithmEntry learned_bits_algorithm() {
  return {"learned-bits",
          "Garg et al.'s learned bit widths: per-layer widths trained by gradient descent towards target average "
          "bits (one policy, fine-tuned once)",
          [] { return std::make_unique<ParametersOf<LearnedBitsOptions>>(learned_bits_parameters()); },
          [](const AlgorithmParameters& parameters, const SearchContext& context) -> std::unique_ptr<SearchAlgorithm> {
            if (context.bit_widths == nullptr) throw std::logic_error("learned-bits needs the network");
            const auto& options = dynamic_cast<const ParametersOf<LearnedBitsOptions>&>(parameters).values;
            return one_policy_answer(learn(options, context).policy);
          }};
}

}  // namespace qxbar
