#include "search/random_search.h"

#include <random>

namespace qxbar {
namespace {

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

struct NoParameters {};

}  // namespace

SearchAlgorithmEntry random_search_algorithm() {
  static const std::vector<Option<NoParameters>> none;
  return {"random", "uniformly random bits for every decision",
          [] { return std::make_unique<ParametersOf<NoParameters>>(none); },
          [](const AlgorithmParameters&, const SearchContext& context) -> std::unique_ptr<SearchAlgorithm> {
            return std::make_unique<RandomSearch>(context.seed, context.space);
          }};
}

}  // namespace qxbar
