#include "search/algorithm.h"

#include <cmath>
#include <random>
#include <sstream>

#include "search/ddpg.h"
#include "sim/core/errors.h"

namespace qxbar {
namespace {

// Uniformly random actions at every step: the yardstick every learning algorithm must beat.
class RandomSearch : public SearchAlgorithm {
 public:
  RandomSearch(std::uint64_t seed, const PolicySpace& space) : rng_(seed), space_(space) {}

  Policy ask() override {
    std::vector<double> actions(space_.decisions().size());
    for (double& action : actions) action = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    return space_.policy_for(actions);
  }
  void tell(const Evaluation&) override {}

 private:
  std::mt19937_64 rng_;
  const PolicySpace& space_;
};

double value_of(const DdpgOptions& options, const DdpgParameter& parameter) {
  return std::visit([&](auto field) { return static_cast<double>(options.*field); }, parameter.field);
}

void check(const DdpgOptions& options) {
  for (const DdpgParameter& parameter : ddpg_parameters()) {
    const double value = value_of(options, parameter);
    const bool above = parameter.above_minimum ? value > parameter.minimum : value >= parameter.minimum;
    if (!above || value > parameter.maximum) {
      throw ConfigError(std::string("--") + parameter.option + ": must be in " + range_text(parameter));
    }
  }
}

}  // namespace

const std::vector<DdpgParameter>& ddpg_parameters() {
  using O = DdpgOptions;
  constexpr double kNoMaximum = std::numeric_limits<double>::infinity();
  static const std::vector<DdpgParameter> parameters = {
      {"hidden", "hidden", "units per hidden layer", &O::hidden, 1},
      {"lr_critic", "lr-critic", "critic learning rate (Adam)", &O::lr_critic, 0, kNoMaximum, true},
      {"lr_actor", "lr-actor", "actor learning rate (Adam)", &O::lr_actor, 0, kNoMaximum, true},
      {"warmup", "warmup", "last episode of random actions, counted from 0 as in HAQ", &O::warmup, 0},
      {"discount", "discount", "discount of the next step's value", &O::discount, 0, 1},
      {"batch_size", "ddpg-batch-size", "transitions per update", &O::batch_size, 1},
      {"rmsize", "rmsize", "replay memory per decision of an episode", &O::memory_per_step, 1},
      {"tau", "tau", "soft update rate of the target networks", &O::tau, 0, 1, true},
      {"init_delta", "init-delta", "initial exploration noise", &O::init_delta, 0, kNoMaximum, true},
      {"delta_decay", "delta-decay", "noise decay per episode", &O::delta_decay, 0, 1, true},
      {"moving_alpha", "moving-alpha", "rate of the moving-average reward baseline", &O::moving_alpha, 0, 1, true},
  };
  return parameters;
}

std::string range_text(const DdpgParameter& parameter) {
  const auto number = [](double value) {
    std::ostringstream text;
    text << value;
    return text.str();
  };
  return (parameter.above_minimum ? "(" : "[") + number(parameter.minimum) + ", " +
         (std::isinf(parameter.maximum) ? std::string("inf)") : number(parameter.maximum) + "]");
}

const char* to_string(EvaluationStatus status) {
  switch (status) {
    case EvaluationStatus::Ok: return "ok";
    case EvaluationStatus::OverBudget: return "over_budget";
  }
  return "?";
}

EvaluationStatus parse_evaluation_status(const std::string& text) {
  if (text == "ok") return EvaluationStatus::Ok;
  if (text == "over_budget") return EvaluationStatus::OverBudget;
  throw DataError("unknown evaluation status '" + text + "'");
}

std::vector<std::string> algorithm_names() { return {"ddpg", "random"}; }

std::unique_ptr<SearchAlgorithm> make_search_algorithm(const AlgorithmOptions& options, const PolicySpace& space) {
  if (options.name == "ddpg") {
    check(options.ddpg);
    return make_ddpg_search(options.ddpg, options.seed, space);
  }
  if (options.name == "random") return std::make_unique<RandomSearch>(options.seed, space);
  throw ConfigError("--algo " + options.name + ": unknown search algorithm (choose ddpg or random)");
}

}  // namespace qxbar
