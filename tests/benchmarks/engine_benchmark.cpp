// Speed of the cost engines, printed as a table (run on an otherwise idle machine; SystemC uses one core):
//   - the full ResNet-18 lookup table (21 layers x 8 x 8 bit pairs) on the CIM-AQ chip and on ISAAC,
//     with the SystemC and the analytical engine: wall time, layer configurations/s, simulated events/s;
//   - the raw SystemC kernel rate on this machine: two processes passing items through an sc_fifo, each
//     item handled once by each side, the ceiling for any block-level model;
//   - one pipelined whole-network simulation of ResNet-18 under W8A8 and W4A4 on ISAAC.
#include <systemc>

#include <chrono>
#include <cstdio>
#include <functional>

#include "nn/builtin_workloads.h"
#include "sim/analytical_engine.h"
#include "sim/systemc/simulation_context.h"
#include "sim/systemc/systemc_engine.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_of(const std::function<void()>& work) {
  const auto start = Clock::now();
  work();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void fill_table(const qxbar::CostEngine& engine, const qxbar::Workload& workload) {
  for (const qxbar::LayerShape& layer : workload.layers) {
    for (int w = 1; w <= 8; ++w) {
      for (int a = 1; a <= 8; ++a) engine.price(layer, {w, a});
    }
  }
}

struct PingPong : sc_core::sc_module {
  sc_core::sc_fifo<long> there{"there", 1};
  sc_core::sc_fifo<long> back{"back", 1};
  long rounds;
  long handled = 0;
  PingPong(const sc_core::sc_module_name& name, long rounds) : sc_module(name), rounds(rounds) {
    sc_core::sc_spawn([this] {
      for (long i = 0; i < this->rounds; ++i) {
        there.write(i);
        back.read();
        ++handled;
      }
    });
    sc_core::sc_spawn([this] {
      while (true) {
        back.write(there.read());
        ++handled;
      }
    });
  }
};

double raw_kernel_events_per_second() {
  constexpr long kRounds = 2000000;
  qxbar::FreshSimulation simulation;
  PingPong ping_pong("ping_pong", kRounds);
  const double elapsed = seconds_of([] { sc_core::sc_start(); });
  return static_cast<double>(ping_pong.handled) / elapsed;
}

}  // namespace

int main() {
  const qxbar::Workload resnet = qxbar::builtin_workload("resnet18-imagenet");
  const double configurations = static_cast<double>(resnet.layers.size()) * 64;
  const double raw_rate = raw_kernel_events_per_second();
  std::printf("raw SystemC kernel (sc_fifo ping-pong): %.3g events/s\n\n", raw_rate);
  std::printf("%-16s %-11s %10s %14s %14s %12s\n", "chip", "engine", "table [s]", "configs/s", "events/s",
              "of raw rate");
  for (const char* preset : {"cimaq_default", "isaac"}) {
    const qxbar::ChipSpec chip = qxbar::load_chip(preset);
    const qxbar::SystemcEngine simulated(chip);
    const double simulated_s = seconds_of([&] { fill_table(simulated, resnet); });
    const double events_per_s = static_cast<double>(simulated.activity().events) / simulated_s;
    std::printf("%-16s %-11s %10.3f %14.0f %14.3g %11.0f%%\n", preset, "systemc", simulated_s,
                configurations / simulated_s, events_per_s, 100 * events_per_s / raw_rate);
    const qxbar::AnalyticalEngine closed_form(chip);
    const double closed_form_s = seconds_of([&] { fill_table(closed_form, resnet); });
    std::printf("%-16s %-11s %10.3f %14.0f %14s %12s\n", preset, "analytical", closed_form_s,
                configurations / closed_form_s, "-", "-");
  }
  std::printf("\n");
  const qxbar::SystemcEngine isaac(qxbar::load_chip("isaac"));
  for (const qxbar::Bits& bits : {qxbar::Bits{8, 8}, qxbar::Bits{4, 4}}) {
    const qxbar::SystemcEngine::Activity before = isaac.activity();
    double latency_ns = 0;
    const double elapsed = seconds_of(
        [&] { latency_ns = isaac.pipelined_latency_ns(resnet, qxbar::uniform_policy(resnet, bits)); });
    const double events = static_cast<double>(isaac.activity().events - before.events);
    std::printf("pipelined ResNet-18 W%dA%d on isaac: %.3f s wall, %.3g events/s, network latency %.1f us\n", bits.w,
                bits.a, elapsed, events / elapsed, latency_ns / 1e3);
  }
  return 0;
}
