#include "sim/systemc/simulation_context.h"

#include <systemc>

namespace qxbar {
namespace {

void make_current(sc_core::sc_simcontext* context) {
  sc_core::sc_curr_simcontext = context;
  sc_core::sc_default_global_context = context;
}

}  // namespace

SimulationContext::SimulationContext() : context_(new sc_core::sc_simcontext) {
  const Activation active(*this);
  // Femtoseconds keep clock periods such as 1/1.28 GHz exact; 2^64 fs still span five hours.
  sc_core::sc_set_time_resolution(1, sc_core::SC_FS);
  // The kernel's informational notes (e.g. the trace time unit) would interleave with qxbar's own output.
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
}

SimulationContext::~SimulationContext() { delete context_; }

SimulationContext::Activation::Activation(SimulationContext& context) : previous_(sc_core::sc_curr_simcontext) {
  make_current(context.context_);
}

SimulationContext::Activation::~Activation() { make_current(previous_); }

}  // namespace qxbar

// libsystemc refers to sc_main from the main() it ships. qxbar's programs have their own main() and drive
// the kernel through SimulationContext, so this entry point is never called; it only satisfies the linker
// (the library's link options force it in with -u sc_main).
int sc_main(int, char**) { return 1; }
