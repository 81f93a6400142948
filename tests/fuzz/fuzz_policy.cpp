// A policy file in both of its forms, qxbar's YAML and CIM-AQ's .npy (the first input byte chooses),
// read against a five-layer network and written back.
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
  const std::string extension = data[0] % 2 == 0 ? ".yaml" : ".npy";
  try {
    const Policy policy = load_policy(fuzz::as_file(data + 1, size - 1, extension), network);
    policy_yaml_text(network, policy);
    // The compact form reads back to the bits it was written from.
    const Policy again = parse_policy_summary(policy_summary(policy), "fuzz");
    for (std::size_t l = 0; l < network.layers.size(); ++l) {
      if (again.layers.at(l).w != policy.layers.at(l).w || again.layers.at(l).a != policy.layers.at(l).a) __builtin_trap();
    }
  } catch (const UserError&) {
  }
  return 0;
}
