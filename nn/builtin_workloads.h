#pragma once

#include <string>

#include "sim/core/workload.h"

namespace qxbar {

// The workload of a built-in network, traced from its LibTorch model with one forward pass of one input:
// "<network>-<dataset>" as in resnet18-imagenet, vgg16-imagenet or lenet5-fmnist.
Workload builtin_workload(const std::string& name);

// A built-in name, or a CIM-AQ layer-dimension file (*.yaml). An unknown name or a missing file is a
// ConfigError that gives the reason only: the caller says where the name came from.
Workload resolve_workload(const std::string& name_or_file);

}  // namespace qxbar
