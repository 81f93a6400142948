#pragma once

#include <string>

namespace qxbar {

enum class EvaluationStatus {
  Ok,          // priced, fine-tuned and validated
  OverBudget,  // costs more than the budget allows (searched policies are then priced only, not trained)
  Diverged,    // fine-tuning under the policy produced a non-finite loss
  Invalid,     // the chip cannot run the policy (pricing refused it); not trained
  Priced,      // a baseline priced only: the algorithm does not learn from baseline accuracies
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

}  // namespace qxbar
