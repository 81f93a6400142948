#include "search/algorithm.h"

#include <random>

#include "search/ddpg.h"
#include "sim/errors.h"

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

void check(const DdpgOptions& o) {
  const auto require = [](bool valid, const std::string& option, const std::string& rule) {
    if (!valid) throw ConfigError(option + ": " + rule);
  };
  require(o.hidden >= 1, "--hidden", "must be at least 1");
  require(o.lr_critic > 0 && o.lr_actor > 0, "--lr-critic/--lr-actor", "must be positive");
  require(o.warmup >= 0, "--warmup", "must be >= 0");
  require(o.discount >= 0 && o.discount <= 1, "--discount", "must be in [0, 1]");
  require(o.batch_size >= 1, "--ddpg-batch-size", "must be at least 1");
  require(o.memory_per_step >= 1, "--rmsize", "must be at least 1");
  require(o.tau > 0 && o.tau <= 1, "--tau", "must be in (0, 1]");
  require(o.init_delta > 0, "--init-delta", "must be positive");
  require(o.delta_decay > 0 && o.delta_decay <= 1, "--delta-decay", "must be in (0, 1]");
  require(o.moving_alpha > 0 && o.moving_alpha <= 1, "--moving-alpha", "must be in (0, 1]");
}

}  // namespace

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
