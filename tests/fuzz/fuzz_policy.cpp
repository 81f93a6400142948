// A policy in each of its forms, qxbar's YAML, CIM-AQ's .npy and the compact summary of tables and stores
// (the first input byte chooses), read against a five-layer network and written back.
#include "sim/core/errors.h"
#include "sim/core/policy.h"
#include "tests/fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace qxbar;
  if (size == 0) return 0;
  static const Workload network{"lenet5",
                                {{"conv1", LayerKind::Conv, 25, 6, 784, 1},
                                 {"conv2", LayerKind::Conv, 150, 16, 100, 1},
                                 {"fc1", LayerKind::Dense, 400, 120, 1, 1},
                                 {"fc2", LayerKind::Dense, 120, 84, 1, 1},
                                 {"fc3", LayerKind::Dense, 84, 10, 1, 1}}};
  try {
    Policy policy;
    if (data[0] % 3 == 2) {
      policy = parse_policy_summary(std::string(reinterpret_cast<const char*>(data + 1), size - 1), "fuzz");
    } else {
      policy = load_policy(fuzz::as_file(data + 1, size - 1, data[0] % 3 == 0 ? ".yaml" : ".npy"), network);
      policy_yaml_text(network, policy);
    }
    // The compact form reads back to the bits it was written from, per-channel widths and energies included.
    if (parse_policy_summary(policy_summary(policy), "fuzz").layers != policy.layers) __builtin_trap();
  } catch (const UserError&) {
  }
  return 0;
}
