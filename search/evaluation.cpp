#include "search/evaluation.h"

#include "sim/core/errors.h"

namespace qxbar {

const char* to_string(EvaluationStatus status) {
  switch (status) {
    case EvaluationStatus::Ok: return "ok";
    case EvaluationStatus::OverBudget: return "over_budget";
    case EvaluationStatus::Diverged: return "diverged";
    case EvaluationStatus::Invalid: return "invalid";
    case EvaluationStatus::Priced: return "priced";
  }
  return "?";
}

EvaluationStatus parse_evaluation_status(const std::string& text) {
  for (const EvaluationStatus status :
       {EvaluationStatus::Ok, EvaluationStatus::OverBudget, EvaluationStatus::Diverged, EvaluationStatus::Invalid,
        EvaluationStatus::Priced}) {
    if (text == to_string(status)) return status;
  }
  throw DataError("unknown evaluation status '" + text + "'");
}

}  // namespace qxbar
