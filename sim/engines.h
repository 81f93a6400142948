#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/core/registry.h"
#include "sim/cost_engine.h"

namespace qxbar {

class CostCache;

// A way of pricing layers, as `--engine` and recipes name it.
struct CostEngineEntry {
  const char* name;
  const char* help;
  std::function<std::unique_ptr<CostEngine>(const ChipSpec& chip)> make;
};

const Registry<CostEngineEntry>& cost_engines();
std::vector<std::string> cost_engine_names();

// The engine called `name` on `chip`; with a cache, priced layers are looked up before they are computed.
std::unique_ptr<CostEngine> make_cost_engine(const std::string& name, const ChipSpec& chip,
                                             std::shared_ptr<CostCache> cache = nullptr);

}  // namespace qxbar
