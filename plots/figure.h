#pragma once

#include <string>
#include <vector>

namespace qxbar {

// A figure as an author restyles it: NAME.dat (the data, gnuplot's format) and NAME.gp (the commands,
// reading NAME.dat), from which `gnuplot NAME.gp` in the same folder draws NAME.<format> again.
struct Figure {
  std::string name;
  std::string data;
  std::string commands;  // everything after the terminal and output are set
};

std::vector<std::string> parse_formats(const std::string& list);  // "png,svg,pdf"

// Writes the .dat and .gp beside each other in `directory` and runs gnuplot on them; throws DataError with
// gnuplot's message when it fails or leaves an output missing.
void render(const Figure& figure, const std::string& directory, const std::vector<std::string>& formats);

// A number for a data file: six significant digits, as much as a figure shows.
std::string gnuplot_number(double value);

// Text of a string for a gnuplot script or data file: double-quoted, with quotes and backslashes escaped.
std::string gnuplot_quoted(const std::string& text);

}  // namespace qxbar
