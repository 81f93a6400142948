#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace qxbar {

// A multiple-choice integer program: pick exactly one option in every group so that the options' summed
// objective is least while each resource's summed cost stays within its limit. LIMPQ's bit assignment is
// one: a group per layer, an option per (weight, activation) bit pair, resources such as the chip's
// latency, BitOPs or model size.
struct ChoiceProgram {
  struct Choice {
    double objective = 0;
    std::vector<double> costs;  // one per resource, in the order of `limits`
  };
  std::vector<std::vector<Choice>> groups;
  std::vector<double> limits;          // each above 0
  std::vector<std::string> resources;  // names for errors, one per limit
};

// The optimal choice, as an option index per group, solved exactly by GLPK's branch and cut; a sum may meet
// its limit but not exceed it beyond rounding (a relative 1e-9). Throws
// ConfigError when no choice keeps within the limits, naming the resource whose cheapest options already
// overflow it; std::invalid_argument for a malformed program (an empty group, a cost vector of the wrong
// length, a limit not above 0, a non-finite number).
std::vector<std::size_t> solve_choice_program(const ChoiceProgram& program);

}  // namespace qxbar
