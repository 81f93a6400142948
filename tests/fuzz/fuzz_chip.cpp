// A chip description as a user writes it: read, resolved, and a small layer mapped and priced on it. Every
// input must end in a chip or a qxbar::UserError; anything else (another exception, a sanitizer report)
// is a finding.
#include "sim/analytical_engine.h"
#include "sim/chip_spec.h"
#include "sim/core/errors.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qxbar;
  try {
    const ChipSpec chip = ChipDescription::from_file(fuzz::as_file(data, size, ".yaml")).resolve();
    const AnalyticalEngine engine(chip);
    engine.price({"conv", LayerKind::Conv, 3 * 3 * 16, 32, 196, 1}, Bits(4, 6));
  } catch (const UserError&) {
  }
  return 0;
}
