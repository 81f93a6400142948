#include "plots/breakdown.h"


namespace qxbar {
namespace {

std::string stacked_commands(const std::string& name, const std::string& title, const std::string& axis, std::size_t columns) {
  std::string plot = "plot '" + name + ".dat' using 3:xtic(2) title columnhead(3)";
  for (std::size_t column = 4; column < 3 + columns; ++column) {
    plot += ", '' using " + std::to_string(column) + " title columnhead(" + std::to_string(column) + ")";
  }
  return "set title " + gnuplot_quoted(title) + " noenhanced\nset ylabel " + gnuplot_quoted(axis) +
         "\nset xlabel \"layer\"\nset style data histograms\nset style histogram rowstacked\n"
         "set style fill solid 0.85 border -1\nset boxwidth 0.7\nset grid ytics\nset xtics rotate by -30 noenhanced\n"
         "set key outside right top noenhanced\n" + plot + "\n";
}

}  // namespace

std::vector<Figure> breakdown_figures(const Workload& workload, const NetworkCost& cost, const std::string& title) {
  Figure energy{"energy_breakdown", "# energy per layer and component [nJ]\nindex layer", ""};
  for (const Component component : kComponents) energy.data += std::string(" ") + to_string(component);
  energy.data += "\n";
  Figure latency{"latency_breakdown", "# latency per layer [us]\nindex layer compute weight_writes\n", ""};
  for (std::size_t i = 0; i < cost.layers.size(); ++i) {
    const LayerCost& layer = cost.layers[i];
    const std::string row = std::to_string(i + 1) + " " + gnuplot_quoted(workload.layers[i].name);
    energy.data += row;
    for (const Component component : kComponents) energy.data += " " + gnuplot_number(layer.energy_pj[component] / 1e3);
    energy.data += "\n";
    latency.data += row + " " + gnuplot_number((layer.latency_ns - layer.write_ns) / 1e3) + " " + gnuplot_number(layer.write_ns / 1e3) + "\n";
  }
  energy.commands = stacked_commands(energy.name, title, "energy [nJ]", kComponents.size());
  latency.commands = stacked_commands(latency.name, title, "latency [us]", 2);
  return {energy, latency};
}

}  // namespace qxbar
