#include "nn/importance.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <stdexcept>

#include "nn/trainer.h"
#include "sim/core/errors.h"
#include "sim/core/progress.h"

namespace qxbar {
namespace {

// The candidate nearest to `bits`, the wider of two equally near.
int nearest(const std::vector<int>& candidates, int bits) {
  int best = candidates.front();
  for (int candidate : candidates) {
    const int distance = std::abs(candidate - bits);
    const int best_distance = std::abs(best - bits);
    if (distance < best_distance || (distance == best_distance && candidate > best)) best = candidate;
  }
  return best;
}

void check(const Model& model, const IndicatorTraining& options) {
  if (options.weight_bits.empty() || options.activation_bits.empty()) {
    throw std::invalid_argument("indicator training needs candidate bit widths");
  }
  if (options.searched.size() != model.layer_count()) throw std::invalid_argument("indicator training: one flag per layer");
  if (options.epochs < 1 || options.batch_size < 1) throw std::invalid_argument("indicator training: epochs and batch size of at least 1");
}

}  // namespace

std::vector<LayerIndicators> train_importance_indicators(Model& model, const Dataset& train, const IndicatorTraining& options) {
  check(model, options);
  if (train.size() == 0) throw ConfigError("indicator training: no training images");
  std::vector<std::size_t> searched;
  for (std::size_t l = 0; l < model.layer_count(); ++l) {
    if (!options.searched[l]) continue;
    searched.push_back(l);
    model.layer(l).weight_quantizer()->keep_step_per_bits(options.weight_bits);
    model.layer(l).input_quantizer()->keep_step_per_bits(options.activation_bits);
  }
  std::set<int> widths(options.weight_bits.begin(), options.weight_bits.end());
  widths.insert(options.activation_bits.begin(), options.activation_bits.end());
  const Policy fixed = model.policy();
  const auto configure = [&](const auto& bits_of_layer) {
    Policy policy = fixed;
    for (std::size_t l : searched) policy.layers[l] = bits_of_layer();
    model.set_policy(policy);
  };
  // Every searched layer at width b, or at the candidate nearest it where b is not one.
  const auto uniform = [&](int b) {
    configure([&] { return Bits(nearest(options.weight_bits, b), nearest(options.activation_bits, b)); });
  };

  // Quantizers keep their steps per width from the first forward at each; the optimizer must see them all,
  // so every configuration runs once before it is built.
  torch::manual_seed(options.seed);
  model.network().train();
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor first = train.inputs(torch::arange(std::min<std::int64_t>(options.batch_size, train.size())));
    for (int b : widths) {
      uniform(b);
      model.forward(first);
    }
  }
  torch::optim::SGD optimizer(model.network().parameters(), torch::optim::SGDOptions(options.lr).momentum(0.9));

  const std::int64_t images = train.size();
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    set_cosine_learning_rate(optimizer, options.lr, epoch, options.epochs);
    const SeededEpoch batches(train, options.batch_size, options.seed, epoch);
    Progress progress("indicators " + std::to_string(epoch + 1) + "/" + std::to_string(options.epochs), images, "img");
    double loss_sum = 0;
    for (std::int64_t batch = 0; batch < batches.batches(); ++batch) {
      const SeededEpoch::Batch drawn = batches.batch(batch);
      std::mt19937_64 mix(drawn.seed);
      optimizer.zero_grad();
      const auto accumulate = [&] {
        const torch::Tensor loss = torch::nn::functional::cross_entropy(model.forward(drawn.inputs), drawn.labels);
        const double value = loss.item<double>();
        if (!std::isfinite(value)) {
          throw DivergedError("indicator training diverged in epoch " + std::to_string(epoch + 1) + ", batch " +
                              std::to_string(batch + 1) + "; lower limpq.lr");
        }
        loss.backward();
        return value;
      };
      for (int b : widths) {
        uniform(b);
        loss_sum += accumulate() * static_cast<double>(drawn.size) / static_cast<double>(widths.size());
      }
      configure([&] {
        return Bits(options.weight_bits[mix() % options.weight_bits.size()],
                    options.activation_bits[mix() % options.activation_bits.size()]);
      });
      accumulate();
      torch::nn::utils::clip_grad_norm_(model.network().parameters(), 1.0);
      optimizer.step();
      if (options.show_progress) {
        progress.update(drawn.seen, "loss " + std::to_string(loss_sum / static_cast<double>(drawn.seen)).substr(0, 6));
      }
    }
    if (options.show_progress) progress.finish("loss " + std::to_string(loss_sum / static_cast<double>(images)).substr(0, 6));
  }

  std::vector<LayerIndicators> indicators(model.layer_count());
  for (std::size_t l : searched) {
    QuantLayer& layer = model.layer(l);
    for (int b : options.weight_bits) {
      layer.weight_quantizer()->set_bits(b);
      indicators[l].weights[b] = layer.weight_quantizer()->step().mean().item<double>();
    }
    for (int b : options.activation_bits) {
      layer.input_quantizer()->set_bits(b);
      indicators[l].activations[b] = layer.input_quantizer()->step().mean().item<double>();
    }
  }
  model.set_policy(fixed);
  return indicators;
}

}  // namespace qxbar
