#include "search/choice_program.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "sim/core/errors.h"

namespace qxbar {
namespace {

double objective(const ChoiceProgram& program, const std::vector<std::size_t>& chosen) {
  double sum = 0;
  for (std::size_t g = 0; g < chosen.size(); ++g) sum += program.groups[g][chosen[g]].objective;
  return sum;
}

bool fits(const ChoiceProgram& program, const std::vector<std::size_t>& chosen) {
  for (std::size_t r = 0; r < program.limits.size(); ++r) {
    double sum = 0;
    for (std::size_t g = 0; g < chosen.size(); ++g) sum += program.groups[g][chosen[g]].costs[r];
    if (sum > program.limits[r]) return false;
  }
  return true;
}

// The least objective over every combination, or infinity when none fits.
double brute_force(const ChoiceProgram& program) {
  std::vector<std::size_t> chosen(program.groups.size(), 0);
  double best = std::numeric_limits<double>::infinity();
  while (true) {
    if (fits(program, chosen)) best = std::min(best, objective(program, chosen));
    std::size_t g = 0;
    while (g < chosen.size() && ++chosen[g] == program.groups[g].size()) chosen[g++] = 0;
    if (g == chosen.size()) return best;
  }
}

// Layers of 3 to 6 options whose objective falls as their two costs rise, as importance falls with bits.
ChoiceProgram random_program(std::mt19937_64& random, double tightness) {
  std::uniform_real_distribution<double> uniform(0, 1);
  ChoiceProgram program;
  program.resources = {"latency", "size"};
  const int groups = 2 + static_cast<int>(random() % 4);
  double most[2] = {0, 0};
  for (int g = 0; g < groups; ++g) {
    const int options = 3 + static_cast<int>(random() % 4);
    std::vector<ChoiceProgram::Choice> group;
    double largest[2] = {0, 0};
    for (int o = 0; o < options; ++o) {
      ChoiceProgram::Choice choice{uniform(random), {uniform(random) * 100, uniform(random) * 5}};
      for (int r = 0; r < 2; ++r) largest[r] = std::max(largest[r], choice.costs[r]);
      group.push_back(choice);
    }
    for (int r = 0; r < 2; ++r) most[r] += largest[r];
    program.groups.push_back(group);
  }
  program.limits = {most[0] * tightness, most[1] * tightness};
  return program;
}

TEST(ChoiceProgram, MatchesBruteForceOnRandomPrograms) {
  std::mt19937_64 random(7);
  int solved = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const ChoiceProgram program = random_program(random, 0.3 + 0.5 * (trial % 10) / 10.0);
    const double best = brute_force(program);
    if (std::isinf(best)) {
      EXPECT_THROW(solve_choice_program(program), ConfigError) << "trial " << trial;
      continue;
    }
    const std::vector<std::size_t> chosen = solve_choice_program(program);
    ASSERT_EQ(chosen.size(), program.groups.size());
    EXPECT_TRUE(fits(program, chosen)) << "trial " << trial;
    EXPECT_NEAR(objective(program, chosen), best, 1e-9) << "trial " << trial;
    ++solved;
  }
  EXPECT_GT(solved, 200);  // most trials have a solution, so the comparison is not vacuous
}

TEST(ChoiceProgram, KeepsWithinALimitMetExactly) {
  // Option costs 1 and 2 per group, limit 3 over two groups: {1, 2} or {2, 1}, the objective picks {2, 1}.
  ChoiceProgram program;
  program.resources = {"latency"};
  program.limits = {3};
  program.groups = {{{5, {1}}, {1, {2}}}, {{4, {1}}, {3, {2}}}};
  EXPECT_EQ(solve_choice_program(program), (std::vector<std::size_t>{1, 0}));
}

TEST(ChoiceProgram, NamesTheResourceNoChoiceFits) {
  ChoiceProgram program;
  program.resources = {"latency", "size"};
  program.limits = {10, 1};
  program.groups = {{{0, {1, 2}}, {1, {2, 3}}}};
  EXPECT_THAT([&] { solve_choice_program(program); },
              testing::ThrowsMessage<ConfigError>(testing::HasSubstr("size: no choice fits")));
}

TEST(ChoiceProgram, RefusesMalformedPrograms) {
  ChoiceProgram program;
  program.resources = {"latency"};
  program.limits = {1};
  program.groups = {{}};
  EXPECT_THROW(solve_choice_program(program), std::invalid_argument);
  program.groups = {{{0, {1, 2}}}};
  EXPECT_THROW(solve_choice_program(program), std::invalid_argument);
  program.groups = {{{std::nan(""), {1}}}};
  EXPECT_THROW(solve_choice_program(program), std::invalid_argument);
}

}  // namespace
}  // namespace qxbar
