#pragma once

#include "search/algorithm.h"

namespace qxbar {

// Uniformly random actions at every step: the yardstick every learning algorithm must beat.
SearchAlgorithmEntry random_search_algorithm();

}  // namespace qxbar
