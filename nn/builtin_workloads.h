#pragma once

#include <string>
#include <vector>

#include "sim/workload.h"

namespace qxbar {

// Names accepted by --net for the networks qxbar knows.
std::vector<std::string> builtin_workload_names();

// The layer shapes of a built-in network; throws ConfigError naming the choices for an unknown name.
Workload builtin_workload(const std::string& name);

// A built-in name, or a CIM-AQ layer-dimension file (*.yaml).
Workload resolve_workload(const std::string& name_or_file);

}  // namespace qxbar
