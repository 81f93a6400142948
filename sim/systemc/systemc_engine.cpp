#include "sim/systemc/systemc_engine.h"

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>

#include "sim/systemc/blocks.h"
#include "sim/systemc/simulation_context.h"

namespace qxbar {
namespace {

constexpr std::int64_t kFirstWindow = 16;
constexpr std::size_t kSteadyGaps = 4;

// sc_time to ns without losing whole nanoseconds beyond 2^53 femtoseconds.
double to_ns(sc_dt::uint64 femtoseconds) {
  return static_cast<double>(femtoseconds / 1000000) + static_cast<double>(femtoseconds % 1000000) / 1e6;
}

std::string signature_of(const TileGroup& group) {
  std::ostringstream key;
  key << group.input_cycles << '|' << group.traffic.input_bytes << '|' << group.traffic.output_bytes << '|'
      << group.traffic.reduction_bytes << '|' << group.hops << '|' << group.programmed_before_run;
  for (const TileGroup::Crossbar& crossbar : group.crossbars) {
    key << '|' << crossbar.rows << 'x' << crossbar.cols << '/' << crossbar.row_groups;
  }
  return key.str();
}

bool completions_are_periodic(const std::vector<sc_core::sc_time>& completions) {
  if (completions.size() < kSteadyGaps + 1) return false;
  const std::size_t last = completions.size() - 1;
  const sc_core::sc_time gap = completions[last] - completions[last - 1];
  for (std::size_t i = 1; i < kSteadyGaps; ++i) {
    if (completions[last - i] - completions[last - i - 1] != gap) return false;
  }
  return true;
}

struct WindowRun {
  std::vector<sc_core::sc_time> completions;  // from the start of the job
  sc_core::sc_time programmed_at;
  BlockStats datapath;
  BlockStats programming;
};

// Simulated time a session may accumulate before it is replaced, far below the 2^64 fs limit.
constexpr double kSessionSeconds = 1000.0;

}  // namespace

class SystemcEngine::Session {
 public:
  Session(const ChipSpec& chip, const std::string& vcd) {
    const SimulationContext::Activation active(context_);
    programmer_ = std::make_unique<WeightProgrammer>("programmer", chip);
    interconnect_ = std::make_unique<Interconnect>("interconnect", chip);
    layer_ = std::make_unique<LayerPipeline>("layer", chip, *programmer_, *interconnect_);
    if (!vcd.empty()) {
      // SystemC appends ".vcd" to the name it is given.
      const bool has_suffix = vcd.size() > 4 && vcd.compare(vcd.size() - 4, 4, ".vcd") == 0;
      trace_ = sc_core::sc_create_vcd_trace_file((has_suffix ? vcd.substr(0, vcd.size() - 4) : vcd).c_str());
      trace_->set_time_unit(1, sc_core::SC_FS);
      layer_->trace(trace_);
    }
    sc_core::sc_start(sc_core::SC_ZERO_TIME);  // every block now waits for work
  }

  ~Session() {
    const SimulationContext::Activation active(context_);
    if (trace_ != nullptr) sc_core::sc_close_vcd_trace_file(trace_);
    layer_.reset();
    interconnect_.reset();
    programmer_.reset();
  }

  WindowRun run(const TileGroup& group, std::int64_t invocations) {
    const SimulationContext::Activation active(context_);
    layer_->configure(group, invocations);
    programmer_->stats = {};
    layer_->start();
    sc_core::sc_start();
    const sc_core::sc_time started = layer_->controller().started_at;
    WindowRun run{{}, layer_->controller().programmed_at - started, layer_->stats(), programmer_->stats};
    for (const sc_core::sc_time& completion : layer_->output().completions) run.completions.push_back(completion - started);
    run.datapath.actions += interconnect_->stats.actions;
    interconnect_->stats = {};
    elapsed_seconds_ = sc_core::sc_time_stamp().to_seconds();
    return run;
  }

  bool worn_out() const { return elapsed_seconds_ > kSessionSeconds; }

 private:
  SimulationContext context_;
  std::unique_ptr<WeightProgrammer> programmer_;
  std::unique_ptr<Interconnect> interconnect_;
  std::unique_ptr<LayerPipeline> layer_;
  sc_core::sc_trace_file* trace_ = nullptr;
  double elapsed_seconds_ = 0;
};

SystemcEngine::SystemcEngine(ChipSpec chip) : SystemcEngine(std::move(chip), Options{}) {}

SystemcEngine::SystemcEngine(ChipSpec chip, Options options) : chip_(std::move(chip)), options_(std::move(options)) {}

SystemcEngine::~SystemcEngine() = default;

SystemcEngine::Session& SystemcEngine::session() const {
  if (!session_ || session_->worn_out()) {
    session_.reset();
    session_ = std::make_unique<Session>(chip_, options_.trace_vcd);
  }
  return *session_;
}

SystemcEngine::GroupResult SystemcEngine::simulate_group(const TileGroup& group, std::int64_t invocations) const {
  std::int64_t window = options_.fast_forward ? std::min(invocations, kFirstWindow) : invocations;
  while (true) {
    const WindowRun run = session().run(group, window);
    ++activity_.simulations;
    activity_.events += run.datapath.events + run.programming.events;
    const bool complete = window == invocations;
    if (complete || completions_are_periodic(run.completions)) {
      GroupResult result;
      const sc_dt::uint64 last = run.completions.back().value();
      const auto skipped = static_cast<sc_dt::uint64>(invocations - window);
      // A periodic window holds at least kSteadyGaps + 1 completions, so the last gap exists when needed.
      const sc_dt::uint64 period = complete ? 0 : last - run.completions[run.completions.size() - 2].value();
      result.latency_ns = to_ns(last + skipped * period);
      result.write_ns = to_ns(run.programmed_at.value());
      ActionCounts per_invocation = run.datapath.actions;
      for (const CounterInfo& info : counter_infos()) per_invocation.*info.field /= window;
      per_invocation *= invocations;
      result.counts = run.programming.actions;
      result.counts += per_invocation;
      return result;
    }
    window = std::min(invocations, window * 4);
  }
}

LayerCost SystemcEngine::price(const LayerShape& layer, Bits bits) const {
  LayerCost cost;
  cost.mapping = map_layer(chip_, layer, bits);
  const std::int64_t on_chip = chip_.crossbars_on_chip();
  std::map<std::string, GroupResult> simulated;
  for (std::int64_t group = 0; group < cost.mapping.reload_groups; ++group) {
    const TileGroup tiles = TileGroup::of(chip_, cost.mapping, bits, cost.mapping.group_begin(group, on_chip),
                                          cost.mapping.group_end(group, on_chip));
    const std::string signature = signature_of(tiles);
    auto found = simulated.find(signature);
    if (found == simulated.end()) {
      found = simulated.emplace(signature, simulate_group(tiles, layer.mvm_invocations)).first;
    }
    cost.latency_ns += found->second.latency_ns;
    cost.write_ns += found->second.write_ns;
    cost.counts += found->second.counts;
  }
  // Repetitions run one after another on the same crossbars, each with its own weights.
  const auto repeats = static_cast<double>(layer.repeat_factor);
  cost.latency_ns *= repeats;
  cost.write_ns *= repeats;
  cost.counts *= layer.repeat_factor;
  cost.energy_pj = energy_of(chip_, bits, cost.counts, cost.latency_ns);
  return cost;
}

double SystemcEngine::pipelined_latency_ns(const Workload& workload, const Policy& policy) const {
  if (chip_.weights.residency != WeightResidency::Stationary) {
    throw ConfigError("pipelined simulation needs weights.residency: stationary (the chip " + chip_.name +
                      " reprograms every layer)");
  }
  std::vector<TileGroup> groups;
  std::int64_t crossbars = 0;
  for (std::size_t i = 0; i < workload.layers.size(); ++i) {
    const LayerMapping mapping = map_layer(chip_, workload.layers[i], policy.layers[i]);
    groups.push_back(TileGroup::of(chip_, mapping, policy.layers[i], 0, mapping.crossbars));
    groups.back().programmed_before_run = false;  // resident: programmed once, before inference
    crossbars += mapping.crossbars * workload.layers[i].repeat_factor;
  }
  if (crossbars > chip_.crossbars_on_chip()) {
    throw ConfigError("pipelined simulation needs the whole network resident: " + workload.name + " takes " +
                      std::to_string(crossbars) + " crossbars under this policy, the chip " + chip_.name + " has " +
                      std::to_string(chip_.crossbars_on_chip()));
  }

  FreshSimulation simulation;
  WeightProgrammer programmer("programmer", chip_);
  // A bus is one medium all layers contend for; a mesh gives each layer's tiles their own links.
  std::vector<std::unique_ptr<Interconnect>> links;
  std::vector<std::unique_ptr<LayerPipeline>> layers;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (links.empty() || chip_.interconnect.kind == InterconnectKind::Mesh) {
      links.push_back(std::make_unique<Interconnect>(("link" + std::to_string(i)).c_str(), chip_));
    }
    const std::int64_t invocations = workload.layers[i].mvm_invocations * workload.layers[i].repeat_factor;
    Controller::Gate gate;
    if (i > 0) {
      LayerPipeline* producer = layers.back().get();
      const std::int64_t produced = workload.layers[i - 1].mvm_invocations * workload.layers[i - 1].repeat_factor;
      gate = [producer, produced, invocations](std::int64_t index) {
        producer->wait_for_completions(((index + 1) * produced + invocations - 1) / invocations);
      };
    }
    layers.push_back(std::make_unique<LayerPipeline>(("layer" + std::to_string(i)).c_str(), chip_, programmer,
                                                     *links.back(), gate));
    layers.back()->configure(groups[i], invocations);
  }
  sc_core::sc_start(sc_core::SC_ZERO_TIME);
  for (const auto& layer : layers) layer->start();
  sc_core::sc_start();
  ++activity_.simulations;
  sc_core::sc_time finish = sc_core::SC_ZERO_TIME;
  for (const auto& layer : layers) {
    activity_.events += layer->stats().events;
    finish = std::max(finish, layer->output().completions.back());
  }
  layers.clear();
  links.clear();
  return to_ns(finish.value());
}

}  // namespace qxbar
