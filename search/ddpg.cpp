#include "search/ddpg.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>

#include "search/ddpg_networks.h"

namespace qxbar {
namespace ddpg {

ActorImpl::ActorImpl(std::int64_t state_size, std::int64_t hidden_size)
    : input(register_module("input", torch::nn::Linear(state_size, hidden_size))),
      hidden(register_module("hidden", torch::nn::Linear(hidden_size, hidden_size))),
      output(register_module("output", torch::nn::Linear(hidden_size, 1))) {}

torch::Tensor ActorImpl::forward(const torch::Tensor& state) {
  return torch::sigmoid(output(torch::relu(hidden(torch::relu(input(state))))));
}

CriticImpl::CriticImpl(std::int64_t state_size, std::int64_t hidden_size)
    : state_input(register_module("state_input", torch::nn::Linear(state_size, hidden_size))),
      action_input(register_module("action_input", torch::nn::Linear(1, hidden_size))),
      hidden(register_module("hidden", torch::nn::Linear(hidden_size, hidden_size))),
      output(register_module("output", torch::nn::Linear(hidden_size, 1))) {}

torch::Tensor CriticImpl::forward(const torch::Tensor& state, const torch::Tensor& action) {
  return output(torch::relu(hidden(torch::relu(state_input(state) + action_input(action)))));
}

void initialise(torch::nn::Module& network, torch::nn::Linear& output_layer, double output_bound, at::Generator& generator) {
  const torch::NoGradGuard no_grad;
  for (const auto& child : network.children()) {
    auto* linear = dynamic_cast<torch::nn::LinearImpl*>(child.get());
    if (linear == nullptr) continue;
    const double bound = linear == output_layer.get() ? output_bound : 1.0 / std::sqrt(static_cast<double>(linear->options.in_features()));
    linear->weight.uniform_(-bound, bound, generator);
    linear->bias.uniform_(-bound, bound, generator);
  }
}

void soft_update(torch::nn::Module& target, const torch::nn::Module& source, double tau) {
  const torch::NoGradGuard no_grad;
  const std::vector<torch::Tensor> targets = target.parameters();
  const std::vector<torch::Tensor> sources = source.parameters();
  assert(targets.size() == sources.size());
  for (std::size_t i = 0; i < targets.size(); ++i) targets[i].mul_(1.0 - tau).add_(sources[i], tau);
}

void ReplayMemory::push(Transition transition) {
  if (transitions_.size() < capacity_) {
    transitions_.push_back(std::move(transition));
    return;
  }
  transitions_[next_] = std::move(transition);
  next_ = (next_ + 1) % capacity_;
}

ReplayMemory::Batch ReplayMemory::sample(std::size_t count, std::mt19937_64& rng) const {
  assert(!transitions_.empty());
  const auto state_size = static_cast<std::int64_t>(transitions_.front().state.size());
  const auto rows = static_cast<std::int64_t>(count);
  Batch batch{torch::empty({rows, state_size}), torch::empty({rows, 1}), torch::empty({rows, 1}),
              torch::empty({rows, state_size}), torch::empty({rows, 1})};
  auto states = batch.states.accessor<float, 2>();
  auto next_states = batch.next_states.accessor<float, 2>();
  auto actions = batch.actions.accessor<float, 2>();
  auto rewards = batch.rewards.accessor<float, 2>();
  auto not_terminal = batch.not_terminal.accessor<float, 2>();
  std::uniform_int_distribution<std::size_t> pick(0, transitions_.size() - 1);
  for (std::int64_t row = 0; row < rows; ++row) {
    const Transition& t = transitions_[pick(rng)];
    for (std::int64_t i = 0; i < state_size; ++i) {
      states[row][i] = t.state[static_cast<std::size_t>(i)];
      next_states[row][i] = t.next_state[static_cast<std::size_t>(i)];
    }
    actions[row][0] = t.action;
    rewards[row][0] = t.reward;
    not_terminal[row][0] = t.terminal ? 0.0F : 1.0F;
  }
  return batch;
}

}  // namespace ddpg

namespace {

class DdpgSearch : public SearchAlgorithm {
 public:
  DdpgSearch(const DdpgOptions& options, std::uint64_t seed, const PolicySpace& space)
      : options_(options),
        space_(space),
        rng_(seed),
        actor_(PolicySpace::kStateSize, options.hidden),
        actor_target_(PolicySpace::kStateSize, options.hidden),
        critic_(PolicySpace::kStateSize, options.hidden),
        critic_target_(PolicySpace::kStateSize, options.hidden),
        actor_optimizer_(actor_->parameters(), torch::optim::AdamOptions(options.lr_actor)),
        critic_optimizer_(critic_->parameters(), torch::optim::AdamOptions(options.lr_critic)),
        memory_(static_cast<std::size_t>(options.memory_per_step) * space.decisions().size()) {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    ddpg::initialise(*actor_, actor_->output, 3e-3, generator);
    ddpg::initialise(*critic_, critic_->output, 3e-3, generator);
    ddpg::soft_update(*actor_target_, *actor_, 1.0);
    ddpg::soft_update(*critic_target_, *critic_, 1.0);
  }

  Policy ask() override {
    states_.clear();
    actions_.clear();
    // The step before the first stands at full precision.
    double previous = 1.0;
    for (std::size_t step = 0; step < space_.decisions().size(); ++step) {
      states_.push_back(space_.state(step, previous));
      previous = select_action(states_.back());
      actions_.push_back(previous);
    }
    return space_.policy_for(actions_);
  }

  void tell(const Evaluation& evaluation) override {
    assert(!states_.empty());
    for (std::size_t step = 0; step < states_.size(); ++step) {
      const bool last = step + 1 == states_.size();
      memory_.push({states_[step], static_cast<float>(actions_[step]), static_cast<float>(evaluation.reward),
                    last ? states_[step] : states_[step + 1], last});
      if (episode_ > options_.warmup) update();
    }
    states_.clear();
    ++episode_;
  }

 private:
  double select_action(const std::vector<float>& state) {
    // As HAQ counts: episodes 0 to warmup act at random, so the noise has decayed once when the actor starts.
    if (episode_ <= options_.warmup) return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    double mean = 0;
    {
      const torch::NoGradGuard no_grad;
      mean = actor_->forward(state_tensor(state)).item<double>();
    }
    const double delta = options_.init_delta * std::pow(options_.delta_decay, episode_ - options_.warmup);
    // A normal around the actor's action, truncated to [0, 1] by rejection as HAQ's truncnorm; the mean
    // lies inside, so at least a sixth of all draws land there.
    std::normal_distribution<double> noise(mean, delta);
    for (int attempt = 0; attempt < 1000; ++attempt) {
      const double action = noise(rng_);
      if (action >= 0.0 && action <= 1.0) return action;
    }
    return mean;
  }

  void update() {
    ddpg::ReplayMemory::Batch batch = memory_.sample(static_cast<std::size_t>(options_.batch_size), rng_);
    const double batch_mean = batch.rewards.mean().item<double>();
    moving_average_ = has_average_ ? moving_average_ + options_.moving_alpha * (batch_mean - moving_average_) : batch_mean;
    has_average_ = true;
    const torch::Tensor rewards = batch.rewards - moving_average_;

    torch::Tensor target;
    {
      const torch::NoGradGuard no_grad;
      const torch::Tensor next_value = critic_target_->forward(batch.next_states, actor_target_->forward(batch.next_states));
      target = rewards + options_.discount * batch.not_terminal * next_value;
    }
    critic_optimizer_.zero_grad();
    torch::mse_loss(critic_->forward(batch.states, batch.actions), target).backward();
    critic_optimizer_.step();

    actor_optimizer_.zero_grad();
    (-critic_->forward(batch.states, actor_->forward(batch.states)).mean()).backward();
    actor_optimizer_.step();

    ddpg::soft_update(*actor_target_, *actor_, options_.tau);
    ddpg::soft_update(*critic_target_, *critic_, options_.tau);
  }

  static torch::Tensor state_tensor(const std::vector<float>& state) {
    return torch::tensor(state, torch::kFloat32).unsqueeze(0);
  }

  DdpgOptions options_;
  const PolicySpace& space_;
  std::mt19937_64 rng_;
  ddpg::Actor actor_, actor_target_;
  ddpg::Critic critic_, critic_target_;
  torch::optim::Adam actor_optimizer_;
  torch::optim::Adam critic_optimizer_;
  ddpg::ReplayMemory memory_;
  int episode_ = 0;
  double moving_average_ = 0;
  bool has_average_ = false;
  std::vector<std::vector<float>> states_;
  std::vector<double> actions_;
};

}  // namespace

const std::vector<Option<DdpgOptions>>& ddpg_parameters() {
  using O = DdpgOptions;
  constexpr double kNoMaximum = std::numeric_limits<double>::infinity();
  static const std::vector<Option<DdpgOptions>> parameters = {
      {"hidden", "hidden", "DDPG: units per hidden layer", &O::hidden, {1}},
      {"lr_critic", "lr-critic", "DDPG: critic learning rate (Adam)", &O::lr_critic, {0, kNoMaximum, true}},
      {"lr_actor", "lr-actor", "DDPG: actor learning rate (Adam)", &O::lr_actor, {0, kNoMaximum, true}},
      {"warmup", "warmup", "DDPG: last episode of random actions, counted from 0 as in HAQ", &O::warmup, {0}},
      {"discount", "discount", "DDPG: discount of the next step's value", &O::discount, {0, 1}},
      {"batch_size", "ddpg-batch-size", "DDPG: transitions per update", &O::batch_size, {1}},
      {"rmsize", "rmsize", "DDPG: replay memory per decision of an episode", &O::memory_per_step, {1}},
      {"tau", "tau", "DDPG: soft update rate of the target networks", &O::tau, {0, 1, true}},
      {"init_delta", "init-delta", "DDPG: initial exploration noise", &O::init_delta, {0, kNoMaximum, true}},
      {"delta_decay", "delta-decay", "DDPG: noise decay per episode", &O::delta_decay, {0, 1, true}},
      {"moving_alpha", "moving-alpha", "DDPG: rate of the moving-average reward baseline", &O::moving_alpha,
       {0, 1, true}},
  };
  return parameters;
}

std::unique_ptr<SearchAlgorithm> make_ddpg_search(const DdpgOptions& options, std::uint64_t seed, const PolicySpace& space) {
  return std::make_unique<DdpgSearch>(options, seed, space);
}

SearchAlgorithmEntry ddpg_algorithm() {
  return {"ddpg", "HAQ/CIM-AQ's deep deterministic policy gradient agent, one decision per layer and operand",
          [] { return std::make_unique<ParametersOf<DdpgOptions>>(ddpg_parameters()); },
          [](const AlgorithmParameters& parameters, const SearchContext& context) {
            return make_ddpg_search(dynamic_cast<const ParametersOf<DdpgOptions>&>(parameters).values, context.seed,
                                    context.space);
          }};
}

}  // namespace qxbar
