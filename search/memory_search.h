#pragma once

#include <string>
#include <vector>

#include "search/algorithm.h"

namespace qxbar {

struct ChipSpec;

// Memory bounds of Rusci et al.'s assignment, as `--rom-kib` and `--ram-kib` give them; 0 takes the bound
// from the chip.
struct MemoryOptions {
  double rom_kib = 0;
  double ram_kib = 0;
  std::string weight_precision = "per-layer";  // one of weight_precisions()
};

// Rusci et al.'s MixPL ("per-layer": one weight width per layer) and MixPC ("per-channel": the rule cuts
// the widths of single output channels), the first the default.
std::vector<std::string> weight_precisions();

const std::vector<Option<MemoryOptions>>& memory_parameters();

// What the weights must fit and what one layer's input and output activations must fit. A given ROM
// counts bytes: the weights at their bits plus each layer's integer requantization under per-layer mixed
// precision (per output channel a 32-bit multiplier, an 8-bit shift and a 32-bit bias; 8-bit input and
// output zero points), and under MixPC one more byte per output channel for its width (where Rusci et al.
// keep a weight zero point per channel). The chip's ROM counts crossbars, every layer's weights resident at once as the
// mapper places them, and its RAM is its tiles' input and output buffers.
struct MemoryBounds {
  bool rom_in_crossbars = false;
  double rom = 0;        // bytes, or crossbars
  double ram_bytes = 0;
  bool per_channel = false;  // MixPC
};

MemoryBounds memory_bounds(const MemoryOptions& options, const ChipSpec& chip);

// Rusci et al.'s memory-driven assignment of per-layer precision, from 8 bits everywhere. Activations are
// cut first: sweeping forward, a layer whose input and output together overflow the RAM halves its output
// bits (the next layer's input) when those are the wider, or equally wide with the output the larger
// tensor; otherwise a backward sweep halves its input bits (the previous layer's output). The network's
// input and output are never cut. Then weights: while they overflow the ROM, of the layers that can still
// be cut, those whose share of the footprint is within 0.05 of the largest share, the one nearest the input
// halves its weight bits. Bits step 8 -> 4 -> 2, never below the space's minimum nor off the chip's cell
// resolution when the space keeps to it; pinned layers stay at 8/8. Under MixPC (bounds.per_channel) the
// chosen layer gives up bits one output channel at a time, among its widest channels the last first, so
// the last layer cut is cut only as far as the bound needs; layers whose channels end at one width keep a
// per-layer width. Throws ConfigError naming the layer that still overflows when nothing more can be cut.
Policy memory_driven_policy(const PolicySpace& space, const ChipSpec& chip, const MemoryBounds& bounds);

SearchAlgorithmEntry memory_algorithm();

}  // namespace qxbar
