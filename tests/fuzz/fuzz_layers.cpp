// A CIM-AQ layer-dimension file: read, then every layer priced on the ISAAC-like chip at W8A8, where a
// count too large must be refused by name, never wrap.
#include "sim/analytical_engine.h"
#include "sim/chip_spec.h"
#include "sim/core/errors.h"
#include "sim/core/workload.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qxbar;
  static const AnalyticalEngine engine(load_chip("isaac"));
  try {
    const Workload workload = load_cimaq_layer_file(fuzz::as_file(data, size, ".yaml"));
    for (const LayerShape& layer : workload.layers) engine.price(layer, Bits(8, 8));
  } catch (const UserError&) {
  }
  return 0;
}
