#include "nn/builtin_workloads.h"

#include <filesystem>

#include "nn/models.h"
#include "sim/core/errors.h"

namespace qxbar {

Workload builtin_workload(const std::string& name) {
  Workload workload = Model(spec_for_workload_name(name)).workload();
  workload.name = name;
  return workload;
}

Workload resolve_workload(const std::string& name_or_file) {
  const std::filesystem::path path(name_or_file);
  if (path.extension() == ".yaml" || path.extension() == ".yml") {
    if (!std::filesystem::exists(path)) throw ConfigError("no such layer-dimension file");
    return load_cimaq_layer_file(name_or_file);
  }
  return builtin_workload(name_or_file);
}

}  // namespace qxbar
