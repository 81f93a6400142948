#include "sim/systemc/blocks.h"

#include <algorithm>
#include <ostream>

namespace qxbar {
namespace {

using sc_core::sc_time;
using sc_core::SC_NS;

sc_time nanoseconds(double ns) { return sc_time(ns, SC_NS); }

// Time for `bytes` through a port of `bytes_per_cycle`, in whole clock cycles.
sc_time transfer_time(const ChipSpec& chip, std::int64_t bytes, std::int64_t bytes_per_cycle) {
  if (chip.data_movement == DataMovement::Hidden || bytes == 0) return sc_core::SC_ZERO_TIME;
  const std::int64_t cycles = (bytes + bytes_per_cycle - 1) / bytes_per_cycle;
  return nanoseconds(static_cast<double>(cycles) * chip.cycle_ns());
}

// A static process of the module under construction; a lambda instead of the SC_THREAD macro family.
// The blocks' loops are shallow, and a small stack makes building the many short simulations cheap.
template <typename Block>
void start_thread(Block* block, void (Block::*body)()) {
  sc_core::sc_spawn_options options;
  options.set_stack_size(64 * 1024);
  sc_core::sc_spawn([block, body] { (block->*body)(); }, "run", &options);
}

void wait_unless_zero(const sc_time& time) {
  if (time != sc_core::SC_ZERO_TIME) sc_core::wait(time);
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const BitPlane& plane) {
  return out << "invocation " << plane.invocation << " step " << plane.step
             << (plane.last_of_invocation ? " (last plane)" : "");
}

TileGroup TileGroup::of(const ChipSpec& chip, const LayerMapping& mapping, Bits bits, std::int64_t begin,
                        std::int64_t end) {
  TileGroup group;
  for (std::int64_t tile = begin; tile < end; ++tile) {
    group.crossbars.push_back({mapping.rows_in_tile(tile, chip.crossbar.rows),
                               mapping.cols_in_tile(tile, chip.crossbar.cols),
                               mapping.groups_in_tile(tile, chip.crossbar.rows)});
  }
  group.input_cycles = mapping.input_cycles;
  group.traffic = invocation_traffic(chip, mapping, bits, begin, end);
  group.hops = reduction_hops(chip, end - begin);
  group.programmed_before_run = mapping.writes_weights;
  return group;
}

std::int64_t TileGroup::rows_driven() const {
  std::int64_t rows = 0;
  for (const Crossbar& crossbar : crossbars) rows += crossbar.rows;
  return rows;
}

std::vector<std::int64_t> TileGroup::reads_by_step() const {
  std::vector<std::int64_t> reads;
  for (const Crossbar& crossbar : crossbars) {
    reads.resize(std::max(reads.size(), static_cast<std::size_t>(crossbar.row_groups)), 0);
    for (std::int64_t step = 0; step < crossbar.row_groups; ++step) reads[static_cast<std::size_t>(step)] += 1;
  }
  return reads;
}

std::vector<std::int64_t> TileGroup::bit_lines_by_step() const {
  std::vector<std::int64_t> cols;
  for (const Crossbar& crossbar : crossbars) {
    cols.resize(std::max(cols.size(), static_cast<std::size_t>(crossbar.row_groups)), 0);
    for (std::int64_t step = 0; step < crossbar.row_groups; ++step) {
      cols[static_cast<std::size_t>(step)] += crossbar.cols;
    }
  }
  return cols;
}

std::int64_t TileGroup::cells() const {
  std::int64_t total = 0;
  for (const Crossbar& crossbar : crossbars) total += crossbar.rows * crossbar.cols;
  return total;
}

std::int64_t TileGroup::widest_crossbar() const {
  std::int64_t widest = 0;
  for (const Crossbar& crossbar : crossbars) widest = std::max(widest, crossbar.cols);
  return widest;
}

WeightProgrammer::WeightProgrammer(const sc_core::sc_module_name& name, const ChipSpec& chip)
    : sc_module(name), chip_(chip) {}

void WeightProgrammer::program(const std::vector<TileGroup::Crossbar>& crossbars) {
  const auto ports = static_cast<std::size_t>(chip_.weights.write_ports);
  for (std::size_t wave = 0; wave < crossbars.size(); wave += ports) {
    double longest_ns = 0;
    for (std::size_t i = wave; i < std::min(crossbars.size(), wave + ports); ++i) {
      longest_ns = std::max(longest_ns, chip_.crossbar_write_ns(crossbars[i].rows));
      stats.actions.crossbar_writes += 1;
      stats.actions.cells_written += crossbars[i].rows * crossbars[i].cols;
    }
    wait_unless_zero(nanoseconds(longest_ns));
    ++stats.events;
  }
}

Interconnect::Interconnect(const sc_core::sc_module_name& name, const ChipSpec& chip)
    : sc_module(name), chip_(chip) {}

void Interconnect::transfer(std::int64_t bytes, int hops) {
  stats.actions.interconnect_byte_hops += bytes * hops;
  ++stats.events;
  const sc_time serialisation = transfer_time(chip_, bytes, chip_.interconnect.bandwidth_bytes_per_cycle);
  if (serialisation == sc_core::SC_ZERO_TIME) return;
  const sc_time start = std::max(sc_core::sc_time_stamp(), link_free_at_);
  link_free_at_ = start + serialisation;
  const sc_time hop_latency = nanoseconds(static_cast<double>(hops) * chip_.interconnect.hop_latency_cycles * chip_.cycle_ns());
  sc_core::wait(link_free_at_ + hop_latency - sc_core::sc_time_stamp());
}

Controller::Controller(const sc_core::sc_module_name& name, WeightProgrammer& programmer, Gate gate)
    : sc_module(name), programmer_(programmer), gate_(std::move(gate)) {
  start_thread(this, &Controller::run);
}

void Controller::configure(const TileGroup& group, std::int64_t invocations) {
  group_ = &group;
  invocations_ = invocations;
}

void Controller::start() { start_.notify(sc_core::SC_ZERO_TIME); }

void Controller::run() {
  while (true) {
    sc_core::wait(start_);
    started_at = sc_core::sc_time_stamp();
    if (group_->programmed_before_run) programmer_.program(group_->crossbars);
    programmed_at = sc_core::sc_time_stamp();
    for (std::int64_t index = 0; index < invocations_; ++index) {
      if (gate_) gate_(index);
      issue->write(index);
    }
  }
}

InputBuffer::InputBuffer(const sc_core::sc_module_name& name, const ChipSpec& chip) : sc_module(name), chip_(chip) {
  start_thread(this, &InputBuffer::run);
}

void InputBuffer::configure(const TileGroup& group) {
  bytes_ = group.traffic.input_bytes;
  read_time_ = transfer_time(chip_, bytes_, chip_.buffer.bandwidth_bytes_per_cycle);
}

void InputBuffer::run() {
  while (true) {
    const std::int64_t invocation = in->read();
    wait_unless_zero(read_time_);
    stats.actions.buffer_bytes += bytes_;
    ++stats.events;
    out->write(invocation);
  }
}

DacDrivers::DacDrivers(const sc_core::sc_module_name& name) : sc_module(name) {
  start_thread(this, &DacDrivers::run);
}

void DacDrivers::configure(const TileGroup& group) {
  planes_ = group.input_cycles;
  rows_driven_ = group.rows_driven();
}

void DacDrivers::run() {
  while (true) {
    const std::int64_t invocation = in->read();
    for (int plane = 0; plane < planes_; ++plane) {
      stats.actions.dac_conversions += rows_driven_;
      ++stats.events;
      out->write({invocation, plane + 1 == planes_});
    }
  }
}

SampleAndHold::SampleAndHold(const sc_core::sc_module_name& name) : sc_module(name) {}

void SampleAndHold::latch(const BitPlane& plane) {
  while (full_) sc_core::wait(released_);
  plane_ = plane;
  full_ = true;
  latched_.notify(sc_core::SC_ZERO_TIME);
}

void SampleAndHold::wait_released() {
  while (full_) sc_core::wait(released_);
}

BitPlane SampleAndHold::take() {
  while (!full_) sc_core::wait(latched_);
  return plane_;
}

void SampleAndHold::release() {
  full_ = false;
  released_.notify(sc_core::SC_ZERO_TIME);
}

CrossbarArray::CrossbarArray(const sc_core::sc_module_name& name, const ChipSpec& chip, SampleAndHold& hold)
    : sc_module(name), chip_(chip), hold_(hold) {
  start_thread(this, &CrossbarArray::run);
}

void CrossbarArray::configure(const TileGroup& group) {
  reads_by_step_ = group.reads_by_step();
  cells_ = group.cells();
}

void CrossbarArray::run() {
  const sc_time read_time = nanoseconds(chip_.crossbar.read_time_ns);
  while (true) {
    const BitPlane plane = in->read();
    const auto steps = static_cast<std::int64_t>(reads_by_step_.size());
    for (std::int64_t step = 0; step < steps; ++step) {
      sc_core::wait(read_time);
      stats.actions.crossbar_reads += reads_by_step_[static_cast<std::size_t>(step)];
      ++stats.events;
      hold_.latch({plane.invocation, plane.last_of_invocation && step + 1 == steps, step});
      if (!chip_.adc.sample_and_hold) hold_.wait_released();
    }
    stats.actions.cell_reads += cells_;  // every cell once per plane, whichever group holds it
  }
}

AdcBank::AdcBank(const sc_core::sc_module_name& name, const ChipSpec& chip, SampleAndHold& hold)
    : sc_module(name), chip_(chip), hold_(hold) {
  start_thread(this, &AdcBank::run);
}

void AdcBank::configure(const TileGroup& group) {
  samples_by_step_ = group.bit_lines_by_step();
  const std::int64_t busiest = std::min<std::int64_t>(chip_.adc.columns_per_adc, group.widest_crossbar());
  step_time_ = nanoseconds(static_cast<double>(busiest) * chip_.adc_conversion_ns());
}

void AdcBank::run() {
  while (true) {
    const BitPlane plane = hold_.take();
    wait_unless_zero(step_time_);
    stats.actions.adc_conversions += samples_by_step_[static_cast<std::size_t>(plane.step)];
    ++stats.events;
    hold_.release();
    out->write(plane);
  }
}

ShiftAdd::ShiftAdd(const sc_core::sc_module_name& name, const ChipSpec& chip)
    : sc_module(name), latency_(nanoseconds(chip.shift_add.latency_cycles * chip.cycle_ns())) {
  start_thread(this, &ShiftAdd::run);
}

void ShiftAdd::configure(const TileGroup& group) {
  samples_by_step_ = group.bit_lines_by_step();
}

void ShiftAdd::run() {
  while (true) {
    const BitPlane plane = in->read();
    wait_unless_zero(latency_);
    stats.actions.shift_adds += samples_by_step_[static_cast<std::size_t>(plane.step)];
    ++stats.events;
    if (plane.last_of_invocation) out->write(plane.invocation);
  }
}

Reducer::Reducer(const sc_core::sc_module_name& name, Interconnect& interconnect)
    : sc_module(name), interconnect_(interconnect) {
  start_thread(this, &Reducer::run);
}

void Reducer::configure(const TileGroup& group) {
  bytes_ = group.traffic.reduction_bytes;
  hops_ = group.hops;
}

void Reducer::run() {
  while (true) {
    const std::int64_t invocation = in->read();
    if (bytes_ > 0) interconnect_.transfer(bytes_, hops_);
    ++stats.events;
    out->write(invocation);
  }
}

OutputBuffer::OutputBuffer(const sc_core::sc_module_name& name, const ChipSpec& chip) : sc_module(name), chip_(chip) {
  start_thread(this, &OutputBuffer::run);
}

void OutputBuffer::configure(const TileGroup& group) {
  bytes_ = group.traffic.output_bytes;
  write_time_ = transfer_time(chip_, bytes_, chip_.buffer.bandwidth_bytes_per_cycle);
}

void OutputBuffer::run() {
  while (true) {
    in->read();
    wait_unless_zero(write_time_);
    stats.actions.buffer_bytes += bytes_;
    ++stats.events;
    completions.push_back(sc_core::sc_time_stamp());
    written.notify(sc_core::SC_ZERO_TIME);
  }
}

LayerPipeline::LayerPipeline(const sc_core::sc_module_name& name, const ChipSpec& chip, WeightProgrammer& programmer,
                             Interconnect& interconnect, Controller::Gate gate)
    : sc_module(name),
      issued_("issued", 1),
      loaded_("loaded", 1),
      driven_("driven", 1),
      converted_("converted", 1),
      summed_("summed", 2),
      reduced_("reduced", 2),
      hold_("sample_and_hold"),
      controller_("controller", programmer, std::move(gate)),
      input_("input_buffer", chip),
      dacs_("dac_drivers"),
      crossbars_("crossbars", chip, hold_),
      adcs_("adcs", chip, hold_),
      shift_add_("shift_add", chip),
      reducer_("reducer", interconnect),
      output_("output_buffer", chip) {
  controller_.issue(issued_);
  input_.in(issued_);
  input_.out(loaded_);
  dacs_.in(loaded_);
  dacs_.out(driven_);
  crossbars_.in(driven_);
  adcs_.out(converted_);
  shift_add_.in(converted_);
  shift_add_.out(summed_);
  reducer_.in(summed_);
  reducer_.out(reduced_);
  output_.in(reduced_);
}

void LayerPipeline::configure(const TileGroup& group, std::int64_t invocations) {
  controller_.configure(group, invocations);
  input_.configure(group);
  dacs_.configure(group);
  crossbars_.configure(group);
  adcs_.configure(group);
  shift_add_.configure(group);
  reducer_.configure(group);
  output_.configure(group);
  input_.stats = dacs_.stats = crossbars_.stats = adcs_.stats = shift_add_.stats = reducer_.stats = output_.stats = {};
  output_.completions.clear();
}

std::array<const BlockStats*, 7> LayerPipeline::datapath_stats() const {
  return {&input_.stats, &dacs_.stats, &crossbars_.stats, &adcs_.stats, &shift_add_.stats, &reducer_.stats, &output_.stats};
}

BlockStats LayerPipeline::stats() const {
  BlockStats total;
  for (const BlockStats* block : datapath_stats()) {
    total.actions += block->actions;
    total.events += block->events;
  }
  return total;
}

void LayerPipeline::trace(sc_core::sc_trace_file* file) const {
  const std::string prefix = std::string(name()) + ".";
  sc_core::sc_trace(file, input_.stats.events, prefix + "inputs_loaded");
  sc_core::sc_trace(file, dacs_.stats.events, prefix + "planes_driven");
  sc_core::sc_trace(file, crossbars_.stats.events, prefix + "group_reads");
  sc_core::sc_trace(file, adcs_.stats.events, prefix + "group_reads_converted");
  sc_core::sc_trace(file, shift_add_.stats.events, prefix + "group_reads_accumulated");
  sc_core::sc_trace(file, reducer_.stats.events, prefix + "invocations_reduced");
  sc_core::sc_trace(file, output_.stats.events, prefix + "invocations_written");
}

void LayerPipeline::wait_for_completions(std::int64_t count) {
  while (static_cast<std::int64_t>(output_.completions.size()) < count) sc_core::wait(output_.written);
}

}  // namespace qxbar
