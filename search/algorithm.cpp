#include "search/algorithm.h"

#include <nlohmann/json.hpp>

#include "search/ddpg.h"
#include "search/learned_bits.h"
#include "search/limpq.h"
#include "search/memory_search.h"
#include "search/random_search.h"
#include "sim/core/errors.h"

namespace qxbar {

const Registry<SearchAlgorithmEntry>& search_algorithms() {
  static const Registry<SearchAlgorithmEntry> registry("search algorithm", {ddpg_algorithm(), random_search_algorithm(), memory_algorithm(), limpq_algorithm(),
                                                                              learned_bits_algorithm()});
  return registry;
}

std::vector<std::string> search_algorithm_names() { return search_algorithms().names(); }

AlgorithmOptions::AlgorithmOptions() {
  for (const SearchAlgorithmEntry& entry : search_algorithms().entries()) parameters_[entry.name] = entry.defaults();
}

AlgorithmOptions::AlgorithmOptions(const AlgorithmOptions& other) : name(other.name), seed(other.seed) {
  for (const auto& [algorithm, parameters] : other.parameters_) parameters_[algorithm] = parameters->clone();
}

AlgorithmOptions& AlgorithmOptions::operator=(const AlgorithmOptions& other) {
  if (this == &other) return *this;
  AlgorithmOptions copy(other);
  name = std::move(copy.name);
  seed = copy.seed;
  parameters_ = std::move(copy.parameters_);
  return *this;
}

AlgorithmParameters& AlgorithmOptions::parameters(const std::string& algorithm) {
  search_algorithms().at(algorithm);
  return *parameters_.at(algorithm);
}

const AlgorithmParameters& AlgorithmOptions::parameters(const std::string& algorithm) const {
  search_algorithms().at(algorithm);
  return *parameters_.at(algorithm);
}

nlohmann::json AlgorithmOptions::run_key() const {
  return {{"algo", name}, {"parameters", run_key_json(parameters(name).clone()->options())}};
}

OptionSet algorithm_choice_options(AlgorithmOptions& options) {
  static const std::vector<Option<AlgorithmOptions>> table = {
      {"algo", "algo", "search algorithm", &AlgorithmOptions::name, {}, search_algorithm_names, true,
       [] { return search_algorithms().help(); }},
  };
  return bind_options(table, options);
}

std::unique_ptr<SearchAlgorithm> make_search_algorithm(const AlgorithmOptions& options, const SearchContext& context) {
  const SearchAlgorithmEntry& entry = search_algorithms().at(options.name);
  if (context.cost_budgets.size() > 1 && !entry.several_budgets) {
    throw ConfigError(std::string("--cost-budget: ") + entry.name + " searches under one budget; several give a front with limpq");
  }
  const std::unique_ptr<AlgorithmParameters> parameters = options.parameters(options.name).clone();
  // Front ends check what they read with its file and line or flag; this guards values set in code.
  check_values(parameters->options(), std::string("search.") + entry.name);
  return entry.make(*parameters, context);
}

namespace {

class OnePolicyAnswer : public SearchAlgorithm {
 public:
  explicit OnePolicyAnswer(Policy policy) : policy_(std::move(policy)) {}
  Policy ask() override { return policy_; }
  void tell(const Evaluation&) override { told_ = true; }
  bool finished() const override { return told_; }
  bool trains_baselines() const override { return false; }

 private:
  Policy policy_;
  bool told_ = false;
};

}  // namespace

std::unique_ptr<SearchAlgorithm> one_policy_answer(Policy policy) { return std::make_unique<OnePolicyAnswer>(std::move(policy)); }

}  // namespace qxbar
