#pragma once

#include <string>

#include "sim/core/registry.h"

namespace qxbar {

// One kind of analog-to-digital converter, chosen by `adc.kind`. The chip key table takes the kind's name,
// help and default figures from here, so adding a kind is one entry in adc_models().
struct AdcModel {
  std::string name;
  std::string help;
  // Clock cycles one conversion at `bits` of resolution takes.
  int (*conversion_cycles)(int bits);
  // Defaults of adc.energy_per_step_fj and adc.area_um2 for this kind, as key-table literals.
  std::string energy_per_step_fj;
  std::string area_um2;
};

const Registry<AdcModel>& adc_models();

}  // namespace qxbar
