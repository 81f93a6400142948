#include <cstdio>

#include "experiments/cli.h"
#include "plots/search_figures.h"

namespace qxbar::cli {

int run_plot(const std::vector<std::string>& args) {
  std::vector<std::string> runs;
  std::string out;
  std::string format_list;
  po::options_description options("plot options");
  options.add_options()
      ("run", po::value(&runs)->multitoken()->required(), "search run folders (positional; several overlay)")
      ("out", po::value(&out), "folder for the figures (default: RUN/figures of the first run)")
      ("format", po::value(&format_list)->default_value("png,svg"), "image formats: png, svg, pdf");
  po::positional_options_description positional;
  positional.add("run", -1);
  po::variables_map values;
  if (!parse_command_line("plot", args, options, values, positional)) return 0;
  const std::vector<std::string> formats = parse_formats(format_list);
  std::vector<SearchRunData> data;
  for (const std::string& run : runs) data.push_back(read_search_run(run));
  if (out.empty()) out = runs.front() + "/figures";
  for (const Figure& figure : search_figures(data)) {
    render(figure, out, formats);
    std::printf("%s/%s.{%s} (data %s.dat, script %s.gp)\n", out.c_str(), figure.name.c_str(), format_list.c_str(),
                figure.name.c_str(), figure.name.c_str());
  }
  return 0;
}

}  // namespace qxbar::cli
