#pragma once

namespace sc_core {
class sc_simcontext;
}

namespace qxbar {

// A brand-new SystemC kernel for one simulation. SystemC 2.3 cannot elaborate new modules once a
// simulation has run, so every simulation builds its modules inside its own context; the previous context
// is restored when this object goes away. Destroy the modules first, while their context is still current.
class FreshSimulation {
 public:
  FreshSimulation();
  ~FreshSimulation();
  FreshSimulation(const FreshSimulation&) = delete;
  FreshSimulation& operator=(const FreshSimulation&) = delete;

 private:
  sc_core::sc_simcontext* previous_;
  sc_core::sc_simcontext* context_;
};

}  // namespace qxbar
