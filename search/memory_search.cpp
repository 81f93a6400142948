#include "search/memory_search.h"

#include <algorithm>
#include <iomanip>
#include <limits>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "sim/chip_spec.h"
#include "sim/cost_engine.h"
#include "sim/core/errors.h"
#include "sim/mapper.h"

namespace qxbar {
namespace {

constexpr double kBytesPerKib = 1024;
// The network's output is never cut: it keeps the 8 bits every tensor starts with.
constexpr int kNetworkOutputBits = 8;
// Weights whose share of the footprint is this close to the largest share are cut nearest the input first.
constexpr double kShareTolerance = 0.05;
// Per-layer mixed precision's requantization per output channel: 32-bit multiplier, 8-bit shift, 32-bit bias.
constexpr double kRequantizationBytesPerChannel = (32 + 8 + 32) / 8.0;
constexpr double kZeroPointBytesPerLayer = 2;  // 8-bit input and output zero points
// Per-channel mixed precision: each output channel's width (Rusci et al. keep a weight zero point there).
constexpr double kWidthBytesPerChannel = 1;

std::string kib(double bytes) {
  std::ostringstream text;
  text << std::setprecision(4) << bytes / kBytesPerKib << " KiB";
  return text.str();
}

double weight_footprint(const MemoryBounds& bounds, const ChipSpec& chip, const LayerShape& layer, const Bits& bits) {
  const auto repeats = static_cast<double>(layer.repeat_factor);
  if (bounds.rom_in_crossbars) return static_cast<double>(map_layer(chip, layer, bits).crossbars) * repeats;
  const double channels = static_cast<double>(layer.output_dim) * repeats;
  const double weights = static_cast<double>(layer.input_dim) * channels;
  const double per_channel = kRequantizationBytesPerChannel + (bounds.per_channel ? kWidthBytesPerChannel : 0);
  return weights * mean_weight_bits(bits) / 8 + channels * per_channel + kZeroPointBytesPerLayer;
}

// Elements of a layer's input and output tensors for one sample.
struct Activations {
  double input;
  double output;
};

Activations activations(const LayerShape& layer, const LayerGeometry& geometry) {
  return {input_elements(layer, geometry),
          static_cast<double>(layer.output_dim) * static_cast<double>(layer.mvm_invocations) * static_cast<double>(layer.repeat_factor)};
}

class Assignment {
 public:
  Assignment(const PolicySpace& space, const ChipSpec& chip, const MemoryBounds& bounds)
      : space_(space), chip_(chip), bounds_(bounds), policy_(space.reference()) {
    for (std::size_t i = 0; i < layers(); ++i) {
      activations_.push_back(activations(space.workload().layers[i], space.geometry()[i]));
    }
  }

  Policy run() {
    fit_activations();
    fit_weights();
    return policy_;
  }

 private:
  std::size_t layers() const { return space_.workload().layers.size(); }
  const std::string& name(std::size_t i) const { return space_.workload().layers[i].name; }

  int output_bits(std::size_t i) const { return i + 1 < layers() ? policy_.layers[i + 1].a : kNetworkOutputBits; }
  double ram_need(std::size_t i) const {
    return (activations_[i].input * policy_.layers[i].a + activations_[i].output * output_bits(i)) / 8;
  }
  bool overflows_ram(std::size_t i) const { return ram_need(i) > bounds_.ram_bytes; }

  // Whether layer i's input activation bits may be halved: not the network's input, not pinned.
  bool can_cut_input(std::size_t i) const {
    return i > 0 && !space_.is_pinned(i) && policy_.layers[i].a / 2 >= space_.options().min_bits;
  }
  bool can_cut_weights(std::size_t i) const {
    const int half = policy_.layers[i].w / 2;
    const int cell_bits = space_.options().cell_bits;
    return !space_.is_pinned(i) && half >= space_.options().min_bits && (cell_bits == 0 || half % cell_bits == 0);
  }

  // Halves layer i's weight bits: all of them (MixPL), or those of the last of its widest channels (MixPC).
  void cut_weights(std::size_t i) {
    Bits& bits = policy_.layers[i];
    if (!bounds_.per_channel) {
      bits.w /= 2;
      return;
    }
    std::vector<int> widths = bits.is_per_channel()
                                  ? bits.channel_w
                                  : std::vector<int>(static_cast<std::size_t>(space_.workload().layers[i].output_dim), bits.w);
    const auto last_widest = std::find(widths.rbegin(), widths.rend(), bits.w);
    *last_widest /= 2;
    const bool one_width = std::all_of(widths.begin(), widths.end(), [&](int w) { return w == widths.front(); });
    bits = one_width ? Bits{widths.front(), bits.a, bits.read_energy_fj_per_cell}
                     : Bits::per_channel(std::move(widths), bits.a, bits.read_energy_fj_per_cell);
  }

  void fit_activations() {
    for (;;) {
      bool changed = false;
      std::vector<std::size_t> marked;
      for (std::size_t i = 0; i < layers(); ++i) {
        if (!overflows_ram(i)) continue;
        const int in = policy_.layers[i].a;
        const int out = output_bits(i);
        const bool output_first = out > in || (out == in && activations_[i].output >= activations_[i].input);
        if (output_first && i + 1 < layers() && can_cut_input(i + 1)) {
          policy_.layers[i + 1].a /= 2;
          changed = true;
        } else {
          marked.push_back(i);
        }
      }
      for (auto it = marked.rbegin(); it != marked.rend(); ++it) {
        const std::size_t i = *it;
        if (!overflows_ram(i)) continue;
        if (can_cut_input(i)) {
          policy_.layers[i].a /= 2;
          changed = true;
        } else if (i + 1 < layers() && can_cut_input(i + 1)) {
          policy_.layers[i + 1].a /= 2;
          changed = true;
        }
      }
      if (changed) continue;
      for (std::size_t i = 0; i < layers(); ++i) {
        if (overflows_ram(i)) {
          throw ConfigError("memory-driven assignment: layer " + name(i) + " needs " + kib(ram_need(i)) +
                            " for its input and output activations at the fewest bits it may take, over the RAM "
                            "bound of " + kib(bounds_.ram_bytes));
        }
      }
      return;
    }
  }

  void fit_weights() {
    std::vector<double> footprint;
    for (std::size_t i = 0; i < layers(); ++i) footprint.push_back(weight_footprint_of(i));
    for (;;) {
      const double total = std::accumulate(footprint.begin(), footprint.end(), 0.0);
      if (total <= bounds_.rom) return;
      double largest_share = -1;
      for (std::size_t i = 0; i < layers(); ++i) {
        if (can_cut_weights(i)) largest_share = std::max(largest_share, footprint[i] / total);
      }
      if (largest_share < 0) {
        const auto largest = static_cast<std::size_t>(std::max_element(footprint.begin(), footprint.end()) - footprint.begin());
        const std::string unit = bounds_.rom_in_crossbars ? " crossbars" : " bytes";
        std::ostringstream message;
        message << "memory-driven assignment: the weights need " << total << unit
                << " at the fewest bits each layer may take, over the ROM bound of " << bounds_.rom << unit
                << " (largest: layer " << name(largest) << ", " << footprint[largest] << unit << ")";
        throw ConfigError(message.str());
      }
      for (std::size_t i = 0; i < layers(); ++i) {
        if (can_cut_weights(i) && footprint[i] / total >= largest_share - kShareTolerance) {
          cut_weights(i);
          footprint[i] = weight_footprint_of(i);
          break;
        }
      }
    }
  }

  double weight_footprint_of(std::size_t i) const {
    return weight_footprint(bounds_, chip_, space_.workload().layers[i], policy_.layers[i]);
  }

  const PolicySpace& space_;
  const ChipSpec& chip_;
  const MemoryBounds& bounds_;
  Policy policy_;
  std::vector<Activations> activations_;
};

}  // namespace

const std::vector<Option<MemoryOptions>>& memory_parameters() {
  static const std::vector<Option<MemoryOptions>> parameters = {
      {"rom_kib", "rom-kib", "memory: weight memory in KiB (0: the chip's crossbars, weights resident)", &MemoryOptions::rom_kib, {0}},
      {"ram_kib", "ram-kib", "memory: activation memory in KiB (0: the chip's tile buffers)", &MemoryOptions::ram_kib, {0}},
      {"weight_precision", "weight-precision",
       "memory: per-layer (MixPL) or per-channel (MixPC: single output channels give up bits; needs a weight "
       "step per channel, network.per_channel)",
       &MemoryOptions::weight_precision, {}, weight_precisions},
  };
  return parameters;
}

std::vector<std::string> weight_precisions() { return {"per-layer", "per-channel"}; }

MemoryBounds memory_bounds(const MemoryOptions& options, const ChipSpec& chip) {
  MemoryBounds bounds;
  bounds.per_channel = options.weight_precision == weight_precisions()[1];
  bounds.rom_in_crossbars = options.rom_kib == 0;
  bounds.rom = bounds.rom_in_crossbars ? static_cast<double>(chip.crossbars_on_chip()) : options.rom_kib * kBytesPerKib;
  bounds.ram_bytes = options.ram_kib > 0
                         ? options.ram_kib * kBytesPerKib
                         : static_cast<double>(chip.hierarchy.tiles) * (chip.buffer.input_kib + chip.buffer.output_kib) * kBytesPerKib;
  return bounds;
}

Policy memory_driven_policy(const PolicySpace& space, const ChipSpec& chip, const MemoryBounds& bounds) {
  return Assignment(space, chip, bounds).run();
}

SearchAlgorithmEntry memory_algorithm() {
  return {"memory",
          "Rusci et al.'s memory-driven rule: activations cut to fit the RAM, then weights to fit the ROM "
          "(one policy, fine-tuned once)",
          [] { return std::make_unique<ParametersOf<MemoryOptions>>(memory_parameters()); },
          [](const AlgorithmParameters& parameters, const SearchContext& context) -> std::unique_ptr<SearchAlgorithm> {
            if (context.engine == nullptr) throw std::logic_error("memory-driven assignment needs the chip");
            const ChipSpec& chip = context.engine->chip();
            const MemoryOptions& options = dynamic_cast<const ParametersOf<MemoryOptions>&>(parameters).values;
            return one_policy_answer(memory_driven_policy(context.space, chip, memory_bounds(options, chip)));
          }};
}

}  // namespace qxbar
