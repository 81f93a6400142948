#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "experiments/cli.h"
#include "nn/builtin_workloads.h"
#include "sim/core/atomic_file.h"
#include "sim/core/npy.h"
#include "sim/cost_engine.h"
#include "sim/engines.h"
#include "sim/systemc/systemc_engine.h"

namespace qxbar::cli {
namespace {

struct PricedLayer {
  std::size_t index;
  const LayerShape* layer;
  Bits bits;
  LayerCost cost;
};

std::string csv_header() {
  std::string header = "layer,name,w_bits,a_bits,latency_ns,energy_pj,write_ns,crossbars,reload_groups,fits_on_chip";
  for (const Component component : kComponents) header += "," + energy_column(component);
  for (const CounterInfo& counter : counter_infos()) header += std::string(",") + counter.name;
  return header + "\n";
}

std::string csv_row(const PricedLayer& row) {
  std::ostringstream out;
  out.precision(15);
  const LayerCost& cost = row.cost;
  // Per-channel widths hold commas: quoted, as CSV quotes such fields.
  const std::string w_bits = row.bits.is_per_channel() ? "\"" + weight_bits_text(row.bits) + "\"" : std::to_string(row.bits.w);
  out << row.index << "," << row.layer->name << "," << w_bits << "," << row.bits.a << "," << cost.latency_ns << ","
      << cost.energy_pj.total() << "," << cost.write_ns << "," << cost.mapping.crossbars << ","
      << cost.mapping.reload_groups << "," << (cost.mapping.fits_on_chip ? 1 : 0);
  for (const double energy : cost.energy_pj.values) out << "," << energy;
  for (const CounterInfo& counter : counter_infos()) out << "," << cost.counts.*counter.field;
  out << "\n";
  return out.str();
}

nlohmann::ordered_json energy_json(const PerComponent& energy) {
  nlohmann::ordered_json json;
  for (const Component component : kComponents) json[to_string(component)] = energy[component];
  return json;
}

nlohmann::ordered_json counters_json(const ActionCounts& counts) {
  nlohmann::ordered_json json;
  for (const CounterInfo& counter : counter_infos()) json[counter.name] = counts.*counter.field;
  return json;
}

nlohmann::ordered_json layer_json(const PricedLayer& row) {
  const LayerCost& cost = row.cost;
  return {{"layer", row.index},
          {"name", row.layer->name},
          {"kind", to_string(row.layer->kind)},
          {"w_bits", row.bits.is_per_channel() ? nlohmann::ordered_json(row.bits.channel_w) : nlohmann::ordered_json(row.bits.w)},
          {"a_bits", row.bits.a},
          {"latency_ns", cost.latency_ns},
          {"energy_pj", cost.energy_pj.total()},
          {"write_ns", cost.write_ns},
          {"mapping",
           {{"weight_slices", cost.mapping.weight_slices},
            {"input_cycles", cost.mapping.input_cycles},
            {"rows", cost.mapping.rows},
            {"cols", cost.mapping.cols},
            {"crossbars", cost.mapping.crossbars},
            {"reload_groups", cost.mapping.reload_groups},
            {"fits_on_chip", cost.mapping.fits_on_chip}}},
          {"energy_pj_by_component", energy_json(cost.energy_pj)},
          {"counters", counters_json(cost.counts)}};
}

nlohmann::ordered_json chip_json(const ChipSpec& chip) {
  const PerComponent area = area_of(chip);
  nlohmann::ordered_json area_json;
  for (const Component component : kAreaComponents) area_json[to_string(component)] = area[component] / 1e6;
  return {{"name", chip.name},
          {"fingerprint", chip.fingerprint},
          {"crossbars_on_chip", chip.crossbars_on_chip()},
          {"area_mm2", area.total() / 1e6},
          {"area_mm2_by_component", area_json}};
}

void print_policy_costs(const Workload& workload, const std::vector<PricedLayer>& rows, const NetworkCost& total) {
  std::printf("%3s  %-24s %5s %9s %7s %16s %14s\n", "#", "layer", "w/a", "crossbars", "groups", "latency [us]",
              "energy [uJ]");
  for (const PricedLayer& row : rows) {
    const std::string bits = weight_bits_text(row.bits) + "/" + std::to_string(row.bits.a);
    std::printf("%3zu  %-24s %5s %9lld %7lld %16.3f %14.4f\n", row.index, row.layer->name.c_str(), bits.c_str(),
                static_cast<long long>(row.cost.mapping.crossbars), static_cast<long long>(row.cost.mapping.reload_groups),
                row.cost.latency_ns / 1e3, row.cost.energy_pj.total() / 1e6);
  }
  std::printf("total (%s, %zu layers): latency %.3f us, energy %.4f uJ\n", workload.name.c_str(), rows.size(),
              total.latency_ns / 1e3, total.energy_pj.total() / 1e6);
}

void print_table_diagonal(const Workload& workload, const std::vector<PricedLayer>& rows, int max_bit) {
  std::printf("latency [us] with w_bits = a_bits = b (full table in the output files)\n%3s  %-24s", "#", "layer");
  for (int b = 1; b <= max_bit; ++b) std::printf(" %12s", ("b=" + std::to_string(b)).c_str());
  std::printf("\n");
  for (std::size_t layer = 0; layer < workload.layers.size(); ++layer) {
    std::printf("%3zu  %-24s", layer, workload.layers[layer].name.c_str());
    for (int b = 1; b <= max_bit; ++b) {
      const PricedLayer& row = rows[(layer * max_bit + (b - 1)) * max_bit + (b - 1)];
      std::printf(" %12.3f", row.cost.latency_ns / 1e3);
    }
    std::printf("\n");
  }
}

}  // namespace

int run_sim(const std::vector<std::string>& args) {
  ChipOptions chip_options;
  CacheOptions cache_options;
  std::string net;
  std::string engine_name;
  std::string bits_text;
  std::string policy_path;
  bool table = false;
  int max_bit = 8;
  std::string csv_path;
  std::string json_path;
  std::string npy_path;
  bool pipeline = false;
  std::string trace_path;
  std::size_t trace_layer = 0;
  po::options_description options("sim options");
  chip_options.add_to(options);
  cache_options.add_to(options);
  options.add_options()
      ("net", po::value(&net)->default_value("resnet18-imagenet"),
       "network: a built-in name (lenet5-fmnist, resnet18-imagenet, vgg16-imagenet) or a CIM-AQ layer file *.yaml")
      ("engine", po::value(&engine_name)->default_value("systemc"),
       "cost engine: systemc (simulates the chip) | analytical (closed form, ideal overlap)")
      ("bits", po::value(&bits_text), "uniform policy W,A, e.g. 4,8 (the default is 8,8)")
      ("policy", po::value(&policy_path), "per-layer policy: qxbar YAML or CIM-AQ .npy [layers, 2]")
      ("table", po::bool_switch(&table), "price every layer at every (w, a) in 1..max-bit")
      ("max-bit", po::value(&max_bit)->default_value(8), "largest bit-width of --table, 1 to 16")
      ("csv", po::value(&csv_path), "write one row per priced layer configuration")
      ("json", po::value(&json_path), "write per-layer costs, energy by component, counters and totals")
      ("npy", po::value(&npy_path),
       "with --table: write float64 [layers, max-bit, max-bit] latencies in us, CIM-AQ's lookup table format")
      ("pipeline", po::bool_switch(&pipeline),
       "also simulate the whole network as a pipeline of resident layers (SystemC; needs stationary weights "
       "and room for every layer)")
      ("trace", po::value(&trace_path), "write a SystemC waveform (VCD) of one layer's simulation")
      ("trace-layer", po::value(&trace_layer)->default_value(0), "index of the layer --trace records");
  po::variables_map values;
  if (!parse_command_line("sim", args, options, values)) return 0;

  const int policy_sources = static_cast<int>(values.count("bits")) + static_cast<int>(values.count("policy")) + (table ? 1 : 0);
  if (policy_sources > 1) throw ConfigError("sim: give at most one of --bits, --policy and --table");
  cost_engines().at(engine_name, "--engine");
  if (!npy_path.empty() && !table) throw ConfigError("--npy " + npy_path + ": the lookup table needs --table");
  if ((pipeline || !trace_path.empty()) && (table || engine_name != "systemc")) {
    throw ConfigError("--pipeline and --trace price one policy with --engine systemc, not a --table");
  }
  if (max_bit < 1 || max_bit > kMaxPolicyBits) {
    throw ConfigError("--max-bit " + std::to_string(max_bit) + ": must be 1 to " + std::to_string(kMaxPolicyBits));
  }

  const ChipSpec chip = chip_options.load();
  const Workload workload = [&] {
    try {
      return resolve_workload(net);
    } catch (const ConfigError& error) {
      throw ConfigError("--net " + net + ": " + error.what());
    }
  }();
  const std::shared_ptr<CostCache> cache = cache_options.open();
  const std::unique_ptr<CostEngine> engine = make_cost_engine(engine_name, chip, cache);
  spdlog::debug("chip {} ({}), network {} with {} layers, engine {}", chip.name, chip.fingerprint, workload.name,
                workload.layers.size(), engine_name);

  std::vector<PricedLayer> rows;
  nlohmann::ordered_json units = {{"latency_ns", "ns"}, {"write_ns", "ns"}, {"energy_pj", "pJ"}, {"area_mm2", "mm^2"}};
  for (const CounterInfo& counter : counter_infos()) units[counter.name] = counter.unit;
  nlohmann::ordered_json json = {
      {"chip", chip_json(chip)}, {"network", workload.name}, {"engine", engine->identity()}, {"units", units}};
  if (table) {
    NpyArray lookup{{workload.layers.size(), static_cast<std::size_t>(max_bit), static_cast<std::size_t>(max_bit)}, {}};
    for (std::size_t layer = 0; layer < workload.layers.size(); ++layer) {
      for (int w = 1; w <= max_bit; ++w) {
        for (int a = 1; a <= max_bit; ++a) {
          PricedLayer row{layer, &workload.layers[layer], {w, a}, engine->price(workload.layers[layer], {w, a})};
          lookup.values.push_back(row.cost.latency_ns / 1e3);
          rows.push_back(std::move(row));
        }
      }
    }
    print_table_diagonal(workload, rows, max_bit);
    if (!npy_path.empty()) write_file_atomically(npy_path, encode_npy(lookup, NpyType::Float64));
    json["max_bit"] = max_bit;
  } else {
    const Policy policy = values.count("policy") != 0 ? load_policy(policy_path, workload)
                          : values.count("bits") != 0 ? uniform_policy(workload, parse_bits(bits_text, "--bits"))
                                                      : uniform_policy(workload, Bits{8, 8});
    const NetworkCost total = price_network(*engine, workload, policy);
    for (std::size_t layer = 0; layer < workload.layers.size(); ++layer) {
      rows.push_back({layer, &workload.layers[layer], policy.layers[layer], total.layers[layer]});
    }
    print_policy_costs(workload, rows, total);
    json["policy"] = policy_summary(policy);
    json["total"] = {{"latency_ns", total.latency_ns},
                     {"energy_pj", total.energy_pj.total()},
                     {"energy_pj_by_component", energy_json(total.energy_pj)},
                     {"counters", counters_json(total.counts)}};
    if (pipeline) {
      const double pipelined_ns = SystemcEngine(chip).pipelined_latency_ns(workload, policy);
      std::printf("pipelined (all layers resident, overlapping): latency %.3f us, %.2fx faster than layer by layer\n",
                  pipelined_ns / 1e3, total.latency_ns / pipelined_ns);
      json["total"]["pipelined_latency_ns"] = pipelined_ns;
    }
    if (!trace_path.empty()) {
      if (trace_layer >= workload.layers.size()) {
        throw ConfigError("--trace-layer " + std::to_string(trace_layer) + ": " + workload.name + " has " +
                          std::to_string(workload.layers.size()) + " layers");
      }
      // SystemC writes the waveform as it simulates: into a temporary file that becomes the output whole.
      write_file_atomically(trace_path, [&](const std::string& temporary) {
        const std::string waveform = temporary + ".vcd";  // the name SystemC gives a trace it is told to call so
        try {
          SystemcEngine(chip, {true, waveform}).price(workload.layers[trace_layer], policy.layers[trace_layer]);
          if (!std::filesystem::exists(waveform)) throw DataError(trace_path + ": cannot write: SystemC wrote no waveform");
          std::filesystem::rename(waveform, temporary);
        } catch (...) {
          std::filesystem::remove(waveform);
          throw;
        }
      });
      spdlog::info("wrote {} (layer {}, {})", trace_path, trace_layer, workload.layers[trace_layer].name);
    }
  }

  if (!csv_path.empty()) {
    std::string csv = csv_header();
    for (const PricedLayer& row : rows) csv += csv_row(row);
    write_file_atomically(csv_path, csv);
  }
  if (!json_path.empty()) {
    nlohmann::ordered_json layers = nlohmann::ordered_json::array();
    for (const PricedLayer& row : rows) layers.push_back(layer_json(row));
    json["layers"] = std::move(layers);
    write_file_atomically(json_path, json.dump(2) + "\n");
  }
  if (cache) {
    cache->flush();
    spdlog::debug("cost cache {}: {} hits, {} layers priced", cache_options.path, cache->hits(), cache->misses());
  }
  for (const std::string* path : {&csv_path, &json_path, &npy_path}) {
    if (!path->empty()) spdlog::info("wrote {}", *path);
  }
  return 0;
}

}  // namespace qxbar::cli
