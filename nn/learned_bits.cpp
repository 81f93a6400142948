#include "nn/learned_bits.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "nn/trainer.h"
#include "sim/core/errors.h"
#include "sim/core/progress.h"

namespace qxbar {
namespace {

void check(const Model& model, const BitWidthLearning& options) {
  if (options.searched.size() != model.layer_count()) throw std::invalid_argument("learned widths: one flag per layer");
  if (options.epochs < 1 || options.batch_size < 1) throw std::invalid_argument("learned widths: epochs and batch size of at least 1");
  if (options.min_bits < 2 || options.min_bits > options.max_bits) {
    throw std::invalid_argument("learned widths: bounds must satisfy 2 <= min_bits <= max_bits");
  }
}

// One searched layer's learned widths and what its averages weigh it by.
struct LearnedLayer {
  std::size_t index = 0;
  torch::Tensor log2_weight_bits;
  torch::Tensor log2_input_bits;
  double weights = 0;
  double inputs = 0;
};

class WidthLearner {
 public:
  WidthLearner(Model& model, const BitWidthLearning& options) : model_(model), options_(options) {
    for (std::size_t l = 0; l < model.layer_count(); ++l) {
      if (!options.searched[l]) continue;
      const auto start = [&](int b) {
        return torch::full({}, std::log2(static_cast<double>(std::min(b, options.max_bits))), torch::kFloat32).requires_grad_(true);
      };
      layers_.push_back({l, start(fixed_.layers[l].w), start(fixed_.layers[l].a),
                         static_cast<double>(model.geometry()[l].parameters),
                         input_elements(model.workload().layers[l], model.geometry()[l])});
      total_weights_ += layers_.back().weights;
      total_inputs_ += layers_.back().inputs;
    }
    if (layers_.empty()) throw std::invalid_argument("learned widths: no layer to learn");
  }
  ~WidthLearner() { release(); }
  WidthLearner(const WidthLearner&) = delete;
  WidthLearner& operator=(const WidthLearner&) = delete;

  std::vector<torch::Tensor> widths() const {
    std::vector<torch::Tensor> all;
    for (const LearnedLayer& layer : layers_) {
      all.push_back(layer.log2_weight_bits);
      all.push_back(layer.log2_input_bits);
    }
    return all;
  }

  // Keeps every log2 within the bounds after an optimizer step: clamping in the forward pass instead
  // would stop the gradient of a width beyond a bound, the penalty's included, for good.
  void project() {
    const torch::NoGradGuard no_grad;
    for (const torch::Tensor& log2_bits : widths()) {
      log2_bits.clamp_(std::log2(static_cast<double>(options_.min_bits)), std::log2(static_cast<double>(options_.max_bits)));
    }
  }

  // The width each log2 stands for, rounded (straight through), as the layers use it.
  torch::Tensor rounded(const torch::Tensor& log2_bits) const {
    const torch::Tensor bits = torch::pow(2.0, log2_bits);
    if (!options_.powers_of_two) return round_ste(bits);
    return torch::pow(2.0, round_ste(torch::log2(bits)));
  }

  struct Averages {
    torch::Tensor weight_bits;
    torch::Tensor activation_bits;
  };

  // Sets every searched layer to its rounded widths; the averages the targets bound, differentiable.
  Averages apply() {
    torch::Tensor weight_sum = torch::zeros({});
    torch::Tensor input_sum = torch::zeros({});
    for (const LearnedLayer& layer : layers_) {
      const torch::Tensor w = rounded(layer.log2_weight_bits);
      const torch::Tensor a = rounded(layer.log2_input_bits);
      model_.layer(layer.index).set_learned_widths(w, a);
      weight_sum = weight_sum + w * layer.weights;
      input_sum = input_sum + a * layer.inputs;
    }
    return {weight_sum / total_weights_, input_sum / total_inputs_};
  }

  // The rounded widths as a policy (the other layers at the model's bits).
  Policy policy() const {
    const torch::NoGradGuard no_grad;
    Policy policy = fixed_;
    for (const LearnedLayer& layer : layers_) {
      policy.layers[layer.index] = Bits(static_cast<int>(rounded(layer.log2_weight_bits).item<double>()),
                                        static_cast<int>(rounded(layer.log2_input_bits).item<double>()));
    }
    return policy;
  }

  // The layers back at the bits set in them.
  void release() {
    for (const LearnedLayer& layer : layers_) model_.layer(layer.index).set_learned_widths({}, {});
  }

 private:
  Model& model_;
  const BitWidthLearning& options_;
  Policy fixed_ = model_.policy();
  std::vector<LearnedLayer> layers_;
  double total_weights_ = 0;
  double total_inputs_ = 0;
};

// While alive, only the quantizers' learned values train (a calibrated clip stays fixed as it was); the
// flags are restored at the end.
class OnlyQuantizersTrain {
 public:
  explicit OnlyQuantizersTrain(Model& model) {
    for (auto& item : model.network().named_parameters()) {
      flags_.emplace_back(item.value(), item.value().requires_grad());
      const bool trains = item.value().requires_grad() && item.key().find("quantizer.") != std::string::npos;
      item.value().requires_grad_(trains);
      if (trains) trained_.push_back(item.value());
    }
  }
  ~OnlyQuantizersTrain() {
    for (auto& [parameter, flag] : flags_) parameter.requires_grad_(flag);
  }
  OnlyQuantizersTrain(const OnlyQuantizersTrain&) = delete;
  OnlyQuantizersTrain& operator=(const OnlyQuantizersTrain&) = delete;
  const std::vector<torch::Tensor>& trained() const { return trained_; }

 private:
  std::vector<std::pair<torch::Tensor, bool>> flags_;
  std::vector<torch::Tensor> trained_;
};

}  // namespace

LearnedWidths learn_bit_widths(Model& model, const DataSplits& data, const BitWidthLearning& options) {
  check(model, options);
  const Dataset& train = data.train;
  if (train.size() == 0) throw ConfigError("learned widths: no training images");
  if (data.val.size() == 0) throw ConfigError("learned widths: no validation images to choose an epoch by");
  torch::manual_seed(options.seed);
  WidthLearner learner(model, options);

  const OnlyQuantizersTrain only_quantizers(model);
  torch::optim::SGD step_optimizer(only_quantizers.trained(), torch::optim::SGDOptions(options.lr).momentum(0.9));
  torch::optim::Adam width_optimizer(learner.widths(), torch::optim::AdamOptions(options.width_lr));

  LearnedWidths kept;
  const std::int64_t images = train.size();
  // Batch norms keep their running statistics: the network is frozen, only its quantization learns.
  model.network().eval();
  for (int epoch = 0; epoch < options.epochs; ++epoch) {
    set_cosine_learning_rate(step_optimizer, options.lr, epoch, options.epochs);
    const SeededEpoch batches(train, options.batch_size, options.seed, epoch);
    Progress progress("widths " + std::to_string(epoch + 1) + "/" + std::to_string(options.epochs), images, "img");
    for (std::int64_t batch = 0; batch < batches.batches(); ++batch) {
      const SeededEpoch::Batch drawn = batches.batch(batch);
      const WidthLearner::Averages averages = learner.apply();
      const torch::Tensor penalty = torch::relu(averages.weight_bits - options.target_weight_bits) +
                                    torch::relu(averages.activation_bits - options.target_activation_bits);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(model.forward(drawn.inputs), drawn.labels) + options.penalty * penalty;
      const double value = loss.item<double>();
      if (!std::isfinite(value)) {
        throw DivergedError("learning bit widths diverged in epoch " + std::to_string(epoch + 1) + ", batch " +
                            std::to_string(batch + 1) + "; lower the learning rates");
      }
      step_optimizer.zero_grad();
      width_optimizer.zero_grad();
      loss.backward();
      step_optimizer.step();
      width_optimizer.step();
      learner.project();
      if (options.show_progress) {
        progress.update(drawn.seen, "w " + std::to_string(averages.weight_bits.item<double>()).substr(0, 4) +
                                                    " a " + std::to_string(averages.activation_bits.item<double>()).substr(0, 4));
      }
    }
    LearnedWidths now;
    {
      const torch::NoGradGuard no_grad;
      const WidthLearner::Averages averages = learner.apply();
      now.weight_bits = averages.weight_bits.item<double>();
      now.activation_bits = averages.activation_bits.item<double>();
    }
    now.policy = learner.policy();
    now.val_accuracy = evaluate(model, data.val, options.batch_size);
    now.epoch = epoch + 1;
    now.meets_targets = now.weight_bits <= options.target_weight_bits && now.activation_bits <= options.target_activation_bits;
    if (options.show_progress) {
      progress.finish("w " + std::to_string(now.weight_bits).substr(0, 4) + " a " + std::to_string(now.activation_bits).substr(0, 4) +
                      ", val " + std::to_string(now.val_accuracy).substr(0, 6));
    }
    const bool better = now.meets_targets && (!kept.meets_targets || now.val_accuracy > kept.val_accuracy);
    if (better || (!kept.meets_targets && !now.meets_targets)) kept = now;
  }
  return kept;
}

}  // namespace qxbar
