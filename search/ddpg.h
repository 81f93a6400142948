#pragma once

#include <memory>

#include "search/algorithm.h"

namespace qxbar {

// HAQ's agent: an actor maps a step's state to an action in [0, 1], a critic values (state, action);
// both learn off-policy from a replay memory in which every step of an episode carries the episode's
// final reward, less a moving-average baseline.
std::unique_ptr<SearchAlgorithm> make_ddpg_search(const DdpgOptions& options, std::uint64_t seed, const PolicySpace& space);

}  // namespace qxbar
