#include "sim/adc_models.h"

namespace qxbar {

const Registry<AdcModel>& adc_models() {
  // ISAAC's 8-bit SAR ADC: 2 mW at 1.28 GS/s and 1200 um^2 each, i.e. about 6 fJ per conversion step
  // (Walden figure of merit). Flash converters spend more per step on their 2^bits - 1 comparators.
  static const Registry<AdcModel> models(
      "ADC kind",
      {
          {"sar", "successive approximation, one clock cycle per bit", [](int bits) { return bits; }, "6.1", "1200"},
          {"flash", "2^bits - 1 comparators, one clock cycle per conversion", [](int) { return 1; }, "20", "3000"},
      });
  return models;
}

}  // namespace qxbar
