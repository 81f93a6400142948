#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "search/space.h"
#include "sim/core/policy.h"

namespace qxbar {

enum class EvaluationStatus {
  Ok,          // priced, fine-tuned and validated
  OverBudget,  // costs more than the budget allows (searched policies are then priced only, not trained)
};

const char* to_string(EvaluationStatus status);
EvaluationStatus parse_evaluation_status(const std::string& text);

// What the framework reports back for one proposed policy.
struct Evaluation {
  EvaluationStatus status = EvaluationStatus::Ok;
  double reward = 0;
  double accuracy = -1;  // validation accuracy as a fraction; -1 when not trained
  double latency_ns = 0;
  double energy_pj = 0;
  double cost_ratio = 1;  // cost over the W8A8 policy's cost on the same chip
};

// A search algorithm behind Timeloop-style ask/tell: it proposes a policy, the framework evaluates it and
// tells the result, strictly alternating. An algorithm is deterministic given its seed and the results it
// was told, which is how a run resumes: the stored results are told again instead of evaluated.
class SearchAlgorithm {
 public:
  virtual ~SearchAlgorithm() = default;
  virtual Policy ask() = 0;
  virtual void tell(const Evaluation& evaluation) = 0;
};

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

// A DDPG hyper-parameter as every front end sees it: its key under a recipe's search.ddpg, its option of
// `qxbar search`, what it means and the range it must lie in. The command line, the recipe reader and writer,
// the validation and the run fingerprints all walk one table of these, so a parameter is added in one place.
struct DdpgParameter {
  const char* key;
  const char* option;
  const char* meaning;
  std::variant<int DdpgOptions::*, double DdpgOptions::*> field;
  double minimum;
  double maximum = std::numeric_limits<double>::infinity();
  bool above_minimum = false;  // the minimum itself is out of range
};

// In DdpgOptions' order, which fingerprints of stored runs depend on.
const std::vector<DdpgParameter>& ddpg_parameters();

// "[1, inf)", "(0, 1]": the parameter's range as errors print it.
std::string range_text(const DdpgParameter& parameter);

struct AlgorithmOptions {
  std::string name = "ddpg";  // ddpg | random
  std::uint64_t seed = 0;
  DdpgOptions ddpg;
};

std::vector<std::string> algorithm_names();
std::unique_ptr<SearchAlgorithm> make_search_algorithm(const AlgorithmOptions& options, const PolicySpace& space);

}  // namespace qxbar
