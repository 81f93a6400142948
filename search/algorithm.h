#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "search/evaluation.h"
#include "search/space.h"
#include "sim/core/indicators.h"
#include "sim/core/learned_widths.h"
#include "sim/core/options.h"
#include "sim/core/policy.h"
#include "sim/core/registry.h"

namespace qxbar {

class CostEngine;

// A search algorithm behind Timeloop-style ask/tell: it proposes a policy, the framework evaluates it and
// tells the result, strictly alternating. An algorithm is deterministic given its seed and the results it
// was told, which is how a run resumes: the stored results are told again instead of evaluated. Solver-based
// methods (an integer program over the chip's per-layer costs) answer the first ask with their solution;
// one-shot methods train through the context's evaluator before they answer.
class SearchAlgorithm {
 public:
  virtual ~SearchAlgorithm() = default;
  virtual Policy ask() = 0;
  virtual void tell(const Evaluation& evaluation) = 0;
  // True once the algorithm has nothing more to propose (a rule or a solver after its one answer): the
  // search then ends before its episodes run out.
  virtual bool finished() const { return false; }
  // Whether the uniform baselines below W8A8 are fine-tuned too, for the figures to compare against. A
  // rule or a solver that ends after a few evaluations says no: training them would cost it more than its
  // search, and they are priced all the same.
  virtual bool trains_baselines() const { return true; }
};

// The accuracy half of an evaluation, supplied by whoever owns the network (nn/ fine-tunes and validates).
class AccuracyEvaluator {
 public:
  virtual ~AccuracyEvaluator() = default;
  // Validation accuracy, as a fraction, of the network under `policy` after the configured fine-tuning.
  // Must depend on the policy alone: results are reused for repeated policies and on resume. Throws
  // DivergedError when the fine-tuning diverges.
  virtual double accuracy(const Policy& policy) = 0;
};

// LIMPQ's one-shot indicator training, as the owner of the network runs it.
struct IndicatorRequest {
  std::vector<int> weight_bits;  // candidate widths
  std::vector<int> activation_bits;
  std::vector<bool> searched;  // per layer
  int epochs = 0;
  double lr = 0;
  std::string reuse_from;  // an earlier run's indicator file to take instead of training, when it matches
};
class IndicatorSource {
 public:
  virtual ~IndicatorSource() = default;
  // Per layer, the learned step of every candidate width (empty for layers not searched).
  virtual std::vector<LayerIndicators> indicators(const IndicatorRequest& request) = 0;
};

// Learned bit widths (Garg et al.), as the owner of the network trains them: nn/learned_bits.h.
class BitWidthSource {
 public:
  virtual ~BitWidthSource() = default;
  virtual LearnedWidths learned_widths(const BitWidthRequest& request) = 0;
};

// What an algorithm may draw on when it is built: black-box methods need the space and the seed, solvers
// the chip (per-layer costs at any bits, through `engine`) and what the run minimises under which budgets,
// one-shot methods the network (`evaluator`, `indicators`).
struct SearchContext {
  const PolicySpace& space;
  std::uint64_t seed = 0;
  const CostEngine* engine = nullptr;
  AccuracyEvaluator* evaluator = nullptr;
  IndicatorSource* indicators = nullptr;
  std::string cost_metric = "latency";
  std::vector<double> cost_budgets = {};  // fractions of W8A8's cost; empty: CIM-AQ's reward, no budget
  BitWidthSource* bit_widths = nullptr;
};

// One algorithm's own parameters, type-erased so that the command line, recipes and run keys can walk
// every algorithm's table without knowing its type.
class AlgorithmParameters {
 public:
  virtual ~AlgorithmParameters() = default;
  virtual std::unique_ptr<AlgorithmParameters> clone() const = 0;
  virtual OptionSet options() = 0;  // bound to this object's values
};

template <class Values>
class ParametersOf final : public AlgorithmParameters {
 public:
  explicit ParametersOf(const std::vector<Option<Values>>& table) : table_(&table) {}
  std::unique_ptr<AlgorithmParameters> clone() const override { return std::make_unique<ParametersOf>(*this); }
  OptionSet options() override { return bind_options(*table_, values); }
  Values values;

 private:
  const std::vector<Option<Values>>* table_;
};

// A search algorithm as `--algo` and a recipe's search.algo name it. Its parameters are read from the
// recipe section search.<name> and from the flags of its table.
struct SearchAlgorithmEntry {
  const char* name;
  const char* help;
  std::function<std::unique_ptr<AlgorithmParameters>()> defaults;
  std::function<std::unique_ptr<SearchAlgorithm>(const AlgorithmParameters& parameters, const SearchContext& context)> make;
  // Whether it answers several cost budgets in one search (a front of policies, one per budget).
  bool several_budgets = false;
};

const Registry<SearchAlgorithmEntry>& search_algorithms();
std::vector<std::string> search_algorithm_names();

// The algorithm chosen and every registered algorithm's parameters (at their defaults until set), so
// flags and recipe sections of any algorithm are accepted; only the chosen one's enter the run key.
class AlgorithmOptions {
 public:
  AlgorithmOptions();
  AlgorithmOptions(const AlgorithmOptions& other);
  AlgorithmOptions& operator=(const AlgorithmOptions& other);

  std::string name = "ddpg";
  std::uint64_t seed = 0;

  AlgorithmParameters& parameters(const std::string& algorithm);
  const AlgorithmParameters& parameters(const std::string& algorithm) const;
  // The chosen algorithm's parameters as a run fingerprint holds them.
  nlohmann::json run_key() const;

 private:
  std::map<std::string, std::unique_ptr<AlgorithmParameters>> parameters_;
};

// The options every algorithm shares: which one (`algo`).
OptionSet algorithm_choice_options(AlgorithmOptions& options);

std::unique_ptr<SearchAlgorithm> make_search_algorithm(const AlgorithmOptions& options, const SearchContext& context);

// A rule or a one-shot method, not a search: `policy` is its answer to every ask, and the first tell ends
// the search. The uniform baselines below W8A8 are priced, not trained.
std::unique_ptr<SearchAlgorithm> one_policy_answer(Policy policy);

}  // namespace qxbar
