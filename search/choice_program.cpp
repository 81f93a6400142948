#include "search/choice_program.h"

#include <glpk.h>

#include <cmath>
#include <memory>
#include <stdexcept>

#include "sim/core/errors.h"

namespace qxbar {
namespace {

// Resource rows are scaled to a limit of 1, which keeps GLPK's tolerances relative to the limit.
constexpr double kScaledLimit = 1;
// GLPK accepts a row as met within its feasibility tolerance; a sum beyond the limit by more than rounding
// would be a wrong answer, so it is checked and refused rather than returned.
constexpr double kRoundingSlack = 1e-9;

struct ProblemDeleter {
  void operator()(glp_prob* problem) const { glp_delete_prob(problem); }
};

void check(const ChoiceProgram& program) {
  if (program.resources.size() != program.limits.size()) throw std::invalid_argument("choice program: a name per limit");
  for (double limit : program.limits) {
    if (!(limit > 0) || !std::isfinite(limit)) throw std::invalid_argument("choice program: limits must be finite and above 0");
  }
  for (const auto& group : program.groups) {
    if (group.empty()) throw std::invalid_argument("choice program: a group without options");
    for (const ChoiceProgram::Choice& choice : group) {
      if (choice.costs.size() != program.limits.size()) throw std::invalid_argument("choice program: a cost per limit");
      if (!std::isfinite(choice.objective)) throw std::invalid_argument("choice program: a non-finite objective");
      for (double cost : choice.costs) {
        if (!std::isfinite(cost)) throw std::invalid_argument("choice program: a non-finite cost");
      }
    }
  }
}

// The resource that even the cheapest option of every group overflows, for the error; -1 when each fits
// alone and only their combination does not.
int overflowing_resource(const ChoiceProgram& program) {
  for (std::size_t r = 0; r < program.limits.size(); ++r) {
    double least = 0;
    for (const auto& group : program.groups) {
      double cheapest = group.front().costs[r];
      for (const ChoiceProgram::Choice& choice : group) cheapest = std::min(cheapest, choice.costs[r]);
      least += cheapest;
    }
    if (least > program.limits[r] * kScaledLimit) return static_cast<int>(r);
  }
  return -1;
}

}  // namespace

std::vector<std::size_t> solve_choice_program(const ChoiceProgram& program) {
  check(program);
  if (const int r = overflowing_resource(program); r >= 0) {
    throw ConfigError(program.resources[r] + ": no choice fits within " + std::to_string(program.limits[r]));
  }
  glp_term_out(GLP_OFF);
  const std::unique_ptr<glp_prob, ProblemDeleter> problem(glp_create_prob());
  glp_prob* lp = problem.get();
  glp_set_obj_dir(lp, GLP_MIN);

  const int groups = static_cast<int>(program.groups.size());
  const int resources = static_cast<int>(program.limits.size());
  glp_add_rows(lp, groups + resources);
  for (int g = 1; g <= groups; ++g) glp_set_row_bnds(lp, g, GLP_FX, 1, 1);
  for (int r = 0; r < resources; ++r) glp_set_row_bnds(lp, groups + r + 1, GLP_UP, 0, kScaledLimit);

  std::size_t columns = 0;
  for (const auto& group : program.groups) columns += group.size();
  glp_add_cols(lp, static_cast<int>(columns));
  // GLPK's sparse matrix is 1-based: entry 0 of each array is unused.
  std::vector<int> rows{0};
  std::vector<int> cols{0};
  std::vector<double> values{0};
  int column = 0;
  for (int g = 0; g < groups; ++g) {
    for (const ChoiceProgram::Choice& choice : program.groups[g]) {
      ++column;
      glp_set_col_kind(lp, column, GLP_BV);
      glp_set_obj_coef(lp, column, choice.objective);
      rows.push_back(g + 1);
      cols.push_back(column);
      values.push_back(1);
      for (int r = 0; r < resources; ++r) {
        if (choice.costs[r] == 0) continue;
        rows.push_back(groups + r + 1);
        cols.push_back(column);
        values.push_back(choice.costs[r] / program.limits[r]);
      }
    }
  }
  glp_load_matrix(lp, static_cast<int>(values.size()) - 1, rows.data(), cols.data(), values.data());

  glp_iocp parameters;
  glp_init_iocp(&parameters);
  parameters.presolve = GLP_ON;  // solves the relaxation itself, no separate simplex call
  parameters.msg_lev = GLP_MSG_OFF;
  const int failure = glp_intopt(lp, &parameters);
  const int status = glp_mip_status(lp);
  if (failure == GLP_ENOPFS || status == GLP_NOFEAS) {
    std::string names;
    for (const std::string& name : program.resources) names += (names.empty() ? "" : ", ") + name;
    throw ConfigError("no choice keeps within every limit at once (" + names + ")");
  }
  if (failure != 0 || status != GLP_OPT) {
    throw std::runtime_error("GLPK failed on the choice program (code " + std::to_string(failure) + ", status " +
                             std::to_string(status) + ")");
  }

  std::vector<std::size_t> chosen(program.groups.size());
  std::vector<double> used(program.limits.size(), 0);
  column = 0;
  for (int g = 0; g < groups; ++g) {
    for (std::size_t option = 0; option < program.groups[g].size(); ++option) {
      if (glp_mip_col_val(lp, ++column) < 0.5) continue;
      chosen[g] = option;
      for (int r = 0; r < resources; ++r) used[r] += program.groups[g][option].costs[r];
    }
  }
  for (int r = 0; r < resources; ++r) {
    if (used[r] > program.limits[r] * (1 + kRoundingSlack)) {
      throw std::runtime_error("GLPK's solution exceeds the " + program.resources[r] + " limit (" + std::to_string(used[r]) +
                               " > " + std::to_string(program.limits[r]) + ")");
    }
  }
  return chosen;
}

}  // namespace qxbar
