#pragma once

namespace sc_core {
class sc_simcontext;
}

namespace qxbar {

// A private SystemC kernel. SystemC keeps one current context in a global, cannot elaborate new modules
// once a context has simulated, and cannot rewind time; owning contexts lets one process run any number
// of independent simulations. Make a context current with an Activation while building, running or
// destroying its modules; destroy the modules before the context.
class SimulationContext {
 public:
  SimulationContext();
  ~SimulationContext();
  SimulationContext(const SimulationContext&) = delete;
  SimulationContext& operator=(const SimulationContext&) = delete;

  class Activation {
   public:
    explicit Activation(SimulationContext& context);
    ~Activation();
    Activation(const Activation&) = delete;
    Activation& operator=(const Activation&) = delete;

   private:
    sc_core::sc_simcontext* previous_;
  };

 private:
  sc_core::sc_simcontext* context_;
};

// A brand-new context, current for this object's lifetime: for one-off simulations.
class FreshSimulation {
 private:
  SimulationContext context_;
  SimulationContext::Activation active_{context_};
};

}  // namespace qxbar
