#pragma once

#include <memory>

#include "search/algorithm.h"

namespace qxbar {

// HAQ's DDPG hyper-parameters, as its defaults.
struct DdpgOptions {
  int hidden = 300;
  double lr_critic = 1e-3;
  double lr_actor = 1e-4;
  int warmup = 20;          // the actor takes over after episode `warmup`; episodes 0..warmup act at random
  double discount = 1.0;
  int batch_size = 64;
  int memory_per_step = 128;  // replay memory size per decision of an episode
  double tau = 0.01;          // soft update rate of the target networks
  double init_delta = 0.5;    // exploration noise (std of a normal truncated to [0, 1])...
  double delta_decay = 0.99;  // ...multiplied by this each episode after the warm-up
  double moving_alpha = 0.5;  // rate of the moving-average reward baseline
};

// Every DDPG parameter as recipes (search.ddpg.<key>) and `qxbar search` flags name it.
const std::vector<Option<DdpgOptions>>& ddpg_parameters();

// HAQ's agent: an actor maps a step's state to an action in [0, 1], a critic values (state, action);
// both learn off-policy from a replay memory in which every step of an episode carries the episode's
// final reward, less a moving-average baseline.
std::unique_ptr<SearchAlgorithm> make_ddpg_search(const DdpgOptions& options, std::uint64_t seed, const PolicySpace& space);

SearchAlgorithmEntry ddpg_algorithm();

}  // namespace qxbar
