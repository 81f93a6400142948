#include <cstdio>
#include <filesystem>

#include "experiments/cli.h"
#include "plots/search_figures.h"
#include "plots/sweep_figures.h"

namespace qxbar::cli {
namespace {

// "key=value" of --fix.
std::pair<std::string, std::string> split_assignment(const std::string& text) {
  const std::size_t equals = text.find('=');
  if (equals == std::string::npos || equals == 0) throw ConfigError("--fix " + text + ": expected key=value, e.g. adc.bits=8");
  return {text.substr(0, equals), text.substr(equals + 1)};
}

}  // namespace

int run_plot(const std::vector<std::string>& args) {
  std::vector<std::string> runs;
  std::string sweep;
  std::string out;
  std::string format_list;
  std::vector<std::string> fixed;
  SweepFigureOptions sweep_options;
  po::options_description options("plot options");
  options.add_options()
      ("run", po::value(&runs)->multitoken(), "search run folders (positional; several overlay)")
      ("sweep", po::value(&sweep), "a sweep database (qxbar sweep --db) instead of runs: heatmaps and trade-off scatters")
      ("x", po::value(&sweep_options.x_axis), "--sweep: heatmap columns (a swept key; default the first)")
      ("y", po::value(&sweep_options.y_axis), "--sweep: heatmap rows (a swept key; default the second)")
      ("fix", po::value(&fixed)->multitoken(), "--sweep: key=value for the other swept keys (default their first value)")
      ("out", po::value(&out), "folder for the figures (default: RUN/figures, or DB's folder/DB-name_figures)")
      ("format", po::value(&format_list)->default_value("png,svg"), "image formats: png, svg, pdf");
  po::positional_options_description positional;
  positional.add("run", -1);
  po::variables_map values;
  if (!parse_command_line("plot", args, options, values, positional)) return 0;
  if (runs.empty() == sweep.empty()) throw ConfigError("plot: give search run folders or --sweep DB");
  const std::vector<std::string> formats = parse_formats(format_list);
  std::vector<Figure> figures;
  if (!sweep.empty()) {
    for (const std::string& assignment : fixed) sweep_options.fixed.insert(split_assignment(assignment));
    const SweepTable table = read_sweep_table(sweep);
    if (out.empty()) out = (std::filesystem::path(sweep).parent_path() / (table.name + "_figures")).string();
    figures = sweep_figures(table, sweep_options);
  } else {
    std::vector<SearchRunData> data;
    for (const std::string& run : runs) data.push_back(read_search_run(run));
    if (out.empty()) out = runs.front() + "/figures";
    figures = search_figures(data);
  }
  for (const Figure& figure : figures) {
    render(figure, out, formats);
    std::printf("%s/%s.{%s} (data %s.dat, script %s.gp)\n", out.c_str(), figure.name.c_str(), format_list.c_str(),
                figure.name.c_str(), figure.name.c_str());
  }
  return 0;
}

}  // namespace qxbar::cli
