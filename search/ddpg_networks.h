#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <vector>

namespace qxbar::ddpg {

// state -> action in [0, 1]: two hidden ReLU layers and a sigmoid.
struct ActorImpl : torch::nn::Module {
  ActorImpl(std::int64_t state_size, std::int64_t hidden);
  torch::Tensor forward(const torch::Tensor& state);
  torch::nn::Linear input{nullptr}, hidden{nullptr}, output{nullptr};
};
TORCH_MODULE(Actor);

// (state, action) -> value: state and action enter the first hidden layer side by side.
struct CriticImpl : torch::nn::Module {
  CriticImpl(std::int64_t state_size, std::int64_t hidden);
  torch::Tensor forward(const torch::Tensor& state, const torch::Tensor& action);
  torch::nn::Linear state_input{nullptr}, action_input{nullptr}, hidden{nullptr}, output{nullptr};
};
TORCH_MODULE(Critic);

// Initialises every linear layer from `generator` alone (never the global generator, which training
// reseeds): uniform in +-1/sqrt(fan_in), the output layer in +-output_bound so first actions sit mid-range.
void initialise(torch::nn::Module& network, torch::nn::Linear& output_layer, double output_bound, at::Generator& generator);

// target <- (1 - tau) * target + tau * source, parameter by parameter.
void soft_update(torch::nn::Module& target, const torch::nn::Module& source, double tau);

struct Transition {
  std::vector<float> state;
  float action = 0;
  float reward = 0;
  std::vector<float> next_state;
  bool terminal = false;
};

// The most recent `capacity` transitions; batches drawn uniformly with replacement.
class ReplayMemory {
 public:
  explicit ReplayMemory(std::size_t capacity) : capacity_(capacity) {}
  void push(Transition transition);
  std::size_t size() const { return transitions_.size(); }
  const Transition& at(std::size_t index) const { return transitions_[index]; }

  struct Batch {
    torch::Tensor states, actions, rewards, next_states, not_terminal;
  };
  Batch sample(std::size_t count, std::mt19937_64& rng) const;

 private:
  std::size_t capacity_;
  std::size_t next_ = 0;  // slot the next transition overwrites once full
  std::vector<Transition> transitions_;
};

}  // namespace qxbar::ddpg
