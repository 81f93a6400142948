#pragma once

// The hardware blocks of the SystemC chip model. Each block keeps the time its work takes and counts its
// actions; none of them knows any energy (see energy.h). Work flows through them as tokens:
//   Controller -> InputBuffer -> DacDrivers -> CrossbarArray -> SampleAndHold -> AdcBank -> ShiftAdd
//     -> Reducer (over the Interconnect) -> OutputBuffer
// The DACs pass on one token per input bit-plane; the crossbars read each plane in row-group steps and pass
// on one token per step.
// A LayerPipeline is built once and then given jobs: configure() loads the crossbars a layer occupies,
// start() runs it. Between jobs the simulation has drained, so every job starts from empty queues.
#include <systemc>

#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <vector>

#include "sim/chip_spec.h"
#include "sim/energy.h"
#include "sim/mapper.h"

namespace qxbar {

// The crossbars one layer, or one reload group of it, occupies, and what each invocation moves.
struct TileGroup {
  struct Crossbar {
    std::int64_t rows;
    std::int64_t cols;
    std::int64_t row_groups;  // reads per bit-plane
  };
  std::vector<Crossbar> crossbars;
  int input_cycles = 0;  // bit-planes per invocation
  InvocationTraffic traffic;
  int hops = 1;
  bool programmed_before_run = false;

  static TileGroup of(const ChipSpec& chip, const LayerMapping& mapping, Bits bits, std::int64_t begin, std::int64_t end);
  std::int64_t widest_crossbar() const;
  std::int64_t rows_driven() const;  // word lines over all crossbars
  std::int64_t cells() const;
  // The crossbars read in lock-step: each bit-plane in as many steps as the crossbar with the most row
  // groups needs, step s reading row group s of every crossbar that has one. Per step:
  std::vector<std::int64_t> reads_by_step() const;      // crossbars reading
  std::vector<std::int64_t> bit_lines_by_step() const;  // their bit lines: samples to convert
};

struct BitPlane {
  std::int64_t invocation = 0;
  bool last_of_invocation = false;
  std::int64_t step = 0;  // the row-group step read, once the crossbars have read it
};
std::ostream& operator<<(std::ostream& out, const BitPlane& plane);  // sc_fifo prints its contents

// Every block counts the work items it handles; their sum over a run is the number of simulated events.
struct BlockStats {
  ActionCounts actions;
  std::int64_t events = 0;
};

// Programs crossbars through a limited number of write ports: crossbars go in waves of write_ports, each
// wave as long as its slowest crossbar.
class WeightProgrammer : public sc_core::sc_module {
 public:
  WeightProgrammer(const sc_core::sc_module_name& name, const ChipSpec& chip);
  void program(const std::vector<TileGroup::Crossbar>& crossbars);  // blocks the calling thread
  BlockStats stats;

 private:
  const ChipSpec& chip_;
};

// Moves partial sums between tiles. Transfers are served one after another in the order they are
// requested: a transfer occupies the link for its serialisation time and arrives after the hop latency.
class Interconnect : public sc_core::sc_module {
 public:
  Interconnect(const sc_core::sc_module_name& name, const ChipSpec& chip);
  void transfer(std::int64_t bytes, int hops);  // blocks the calling thread until the bytes arrive
  BlockStats stats;

 private:
  const ChipSpec& chip_;
  sc_core::sc_time link_free_at_;
};

// Issues the invocations of a job, after programming its crossbars when they must be written. In a
// pipelined network it waits for the producing layer to get far enough ahead.
class Controller : public sc_core::sc_module {
 public:
  // Returns when invocation `index` may start (e.g. once enough upstream outputs exist); may be empty.
  using Gate = std::function<void(std::int64_t index)>;

  Controller(const sc_core::sc_module_name& name, WeightProgrammer& programmer, Gate gate);
  void configure(const TileGroup& group, std::int64_t invocations);
  void start();  // from outside the simulation, before sc_start
  sc_core::sc_fifo_out<std::int64_t> issue;
  sc_core::sc_time started_at;
  sc_core::sc_time programmed_at;

 private:
  void run();
  const TileGroup* group_ = nullptr;
  std::int64_t invocations_ = 0;
  WeightProgrammer& programmer_;
  Gate gate_;
  sc_core::sc_event start_;
};

// Reads each invocation's input vector out of the tile buffer into the row drivers' registers.
class InputBuffer : public sc_core::sc_module {
 public:
  InputBuffer(const sc_core::sc_module_name& name, const ChipSpec& chip);
  void configure(const TileGroup& group);
  sc_core::sc_fifo_in<std::int64_t> in;
  sc_core::sc_fifo_out<std::int64_t> out;
  BlockStats stats;

 private:
  void run();
  const ChipSpec& chip_;
  std::int64_t bytes_ = 0;
  sc_core::sc_time read_time_;
};

// Splits each input into ceil(a / dac.bits) bit-planes and drives them onto the word lines.
class DacDrivers : public sc_core::sc_module {
 public:
  explicit DacDrivers(const sc_core::sc_module_name& name);
  void configure(const TileGroup& group);
  sc_core::sc_fifo_in<std::int64_t> in;
  sc_core::sc_fifo_out<BitPlane> out;
  BlockStats stats;

 private:
  void run();
  int planes_ = 0;
  std::int64_t rows_driven_ = 0;
};

// Holds the sampled bit-line values of one bit-plane while the converters work through them.
class SampleAndHold : public sc_core::sc_module {
 public:
  explicit SampleAndHold(const sc_core::sc_module_name& name);
  void latch(const BitPlane& plane);  // waits until the previous plane is released
  void wait_released();
  BitPlane take();                    // waits until a plane is latched
  void release();

 private:
  BitPlane plane_;
  bool full_ = false;
  sc_core::sc_event latched_;
  sc_core::sc_event released_;
};

// The analog arrays: every crossbar of the job reads the same bit-plane at once, row group by row group.
// Without sample-and-hold the bit lines stay busy until the converters are done with them.
class CrossbarArray : public sc_core::sc_module {
 public:
  CrossbarArray(const sc_core::sc_module_name& name, const ChipSpec& chip, SampleAndHold& hold);
  void configure(const TileGroup& group);
  sc_core::sc_fifo_in<BitPlane> in;
  BlockStats stats;

 private:
  void run();
  const ChipSpec& chip_;
  SampleAndHold& hold_;
  std::vector<std::int64_t> reads_by_step_;
  std::int64_t cells_ = 0;
};

// The converters of the job's crossbars, adc.columns_per_adc bit lines to each, converting in parallel;
// a step takes as long as the busiest converter.
class AdcBank : public sc_core::sc_module {
 public:
  AdcBank(const sc_core::sc_module_name& name, const ChipSpec& chip, SampleAndHold& hold);
  void configure(const TileGroup& group);
  sc_core::sc_fifo_out<BitPlane> out;
  BlockStats stats;

 private:
  void run();
  const ChipSpec& chip_;
  SampleAndHold& hold_;
  sc_core::sc_time step_time_;
  std::vector<std::int64_t> samples_by_step_;
};

// Shifts each converted sample by its bit-plane and weight-slice position and adds it to its partial sum.
class ShiftAdd : public sc_core::sc_module {
 public:
  ShiftAdd(const sc_core::sc_module_name& name, const ChipSpec& chip);
  void configure(const TileGroup& group);
  sc_core::sc_fifo_in<BitPlane> in;
  sc_core::sc_fifo_out<std::int64_t> out;
  BlockStats stats;

 private:
  void run();
  sc_core::sc_time latency_;
  std::vector<std::int64_t> samples_by_step_;
};

// Sends the partial sums of the extra row tiles over the interconnect to the tile that accumulates them.
class Reducer : public sc_core::sc_module {
 public:
  Reducer(const sc_core::sc_module_name& name, Interconnect& interconnect);
  void configure(const TileGroup& group);
  sc_core::sc_fifo_in<std::int64_t> in;
  sc_core::sc_fifo_out<std::int64_t> out;
  BlockStats stats;

 private:
  void run();
  Interconnect& interconnect_;
  std::int64_t bytes_ = 0;
  int hops_ = 1;
};

// Writes each invocation's results into the output buffer; the time of the last write is the latency.
class OutputBuffer : public sc_core::sc_module {
 public:
  OutputBuffer(const sc_core::sc_module_name& name, const ChipSpec& chip);
  void configure(const TileGroup& group);
  sc_core::sc_fifo_in<std::int64_t> in;
  std::vector<sc_core::sc_time> completions;  // when each invocation of the job was written
  sc_core::sc_event written;
  BlockStats stats;

 private:
  void run();
  const ChipSpec& chip_;
  std::int64_t bytes_ = 0;
  sc_core::sc_time write_time_;
};

// One layer's datapath: the blocks above wired in a line over bounded FIFOs.
class LayerPipeline : public sc_core::sc_module {
 public:
  LayerPipeline(const sc_core::sc_module_name& name, const ChipSpec& chip, WeightProgrammer& programmer,
                Interconnect& interconnect, Controller::Gate gate = {});

  // Loads a job and clears the statistics; `group` must outlive the job.
  void configure(const TileGroup& group, std::int64_t invocations);
  void start() { controller_.start(); }

  BlockStats stats() const;  // summed over the datapath blocks
  const OutputBuffer& output() const { return output_; }
  const Controller& controller() const { return controller_; }
  // Blocks the calling thread until `count` invocations of the job have been written out.
  void wait_for_completions(std::int64_t count);
  // Records each block's count of handled work items in a waveform.
  void trace(sc_core::sc_trace_file* file) const;

 private:
  std::array<const BlockStats*, 7> datapath_stats() const;
  sc_core::sc_fifo<std::int64_t> issued_;
  sc_core::sc_fifo<std::int64_t> loaded_;
  sc_core::sc_fifo<BitPlane> driven_;
  sc_core::sc_fifo<BitPlane> converted_;
  sc_core::sc_fifo<std::int64_t> summed_;
  sc_core::sc_fifo<std::int64_t> reduced_;
  SampleAndHold hold_;
  Controller controller_;
  InputBuffer input_;
  DacDrivers dacs_;
  CrossbarArray crossbars_;
  AdcBank adcs_;
  ShiftAdd shift_add_;
  Reducer reducer_;
  OutputBuffer output_;
};

}  // namespace qxbar
