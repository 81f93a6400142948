#include "sim/simulation_context.h"

#include <systemc>

namespace qxbar {

FreshSimulation::FreshSimulation() : previous_(sc_core::sc_curr_simcontext), context_(new sc_core::sc_simcontext) {
  sc_core::sc_curr_simcontext = context_;
  sc_core::sc_default_global_context = context_;
  // Femtoseconds keep clock periods such as 1/1.28 GHz exact; 2^64 fs still spans five hours.
  sc_core::sc_set_time_resolution(1, sc_core::SC_FS);
  // The kernel's informational notes (e.g. the trace time unit) would interleave with qxbar's own output.
  sc_core::sc_report_handler::set_actions(sc_core::SC_INFO, sc_core::SC_DO_NOTHING);
}

FreshSimulation::~FreshSimulation() {
  delete context_;
  sc_core::sc_curr_simcontext = previous_;
  sc_core::sc_default_global_context = previous_;
}

}  // namespace qxbar

// libsystemc refers to sc_main from the main() it ships. qxbar's programs have their own main() and drive
// the kernel through FreshSimulation, so this entry point is never called; it only satisfies the linker
// (the library's link options force it in with -u sc_main).
int sc_main(int, char**) { return 1; }
