#include "plots/figure.h"

#include <gnuplot-iostream.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/core/atomic_file.h"
#include "sim/core/errors.h"

namespace qxbar {
namespace {

std::string terminal_for(const std::string& format) {
  if (format == "png") return "pngcairo size 960,640 enhanced font \",12\"";
  if (format == "svg") return "svg size 960,640 enhanced font \",12\" background rgb \"white\"";
  return "pdfcairo size 6in,4in enhanced font \",10\"";
}

// gnuplot ends its report of an error with the reason, after echoing the offending command.
std::string last_line(const std::string& text) {
  std::istringstream lines(text);
  std::string line;
  std::string last;
  while (std::getline(lines, line)) {
    if (line.find_first_not_of(" \t^") != std::string::npos) last = line;
  }
  return last;
}

}  // namespace

std::vector<std::string> parse_formats(const std::string& list) {
  std::vector<std::string> formats;
  std::istringstream in(list);
  std::string format;
  while (std::getline(in, format, ',')) {
    if (format != "png" && format != "svg" && format != "pdf") {
      throw ConfigError("--format " + list + ": unknown format '" + format + "' (choose from png, svg, pdf)");
    }
    formats.push_back(format);
  }
  if (formats.empty()) throw ConfigError("--format: name at least one of png, svg, pdf");
  return formats;
}

std::string gnuplot_number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

std::string gnuplot_quoted(const std::string& text) {
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "\"";
}

void render(const Figure& figure, const std::string& directory, const std::vector<std::string>& formats) {
  std::filesystem::create_directories(directory);
  const std::filesystem::path folder(directory);
  std::string script = "# " + figure.name + ": run `gnuplot " + figure.name + ".gp` in this folder to draw it again.\n";
  for (std::size_t i = 0; i < formats.size(); ++i) {
    script += "set terminal " + terminal_for(formats[i]) + "\nset output " + gnuplot_quoted(figure.name + "." + formats[i]) + "\n";
    script += i == 0 ? figure.commands : "replot\n";
  }
  script += "unset output\n";
  write_file_atomically((folder / (figure.name + ".dat")).string(), figure.data);
  write_file_atomically((folder / (figure.name + ".gp")).string(), script);
  for (const std::string& format : formats) std::filesystem::remove(folder / (figure.name + "." + format));

  const std::string log = (folder / (figure.name + ".log")).string();
  const std::string status_file = (folder / (figure.name + ".status")).string();
  {
    // Warnings (an empty range, say) go to stderr too; gnuplot's exit status tells errors apart.
    Gnuplot gnuplot("gnuplot 2>" + gnuplot_quoted(log) + " >/dev/null; echo $? >" + gnuplot_quoted(status_file));
    gnuplot << "cd " << gnuplot_quoted(std::filesystem::absolute(folder).string()) << "\n";
    gnuplot << "load " << gnuplot_quoted(figure.name + ".gp") << "\n";
  }
  std::ifstream messages(log);
  const std::string errors((std::istreambuf_iterator<char>(messages)), std::istreambuf_iterator<char>());
  std::filesystem::remove(log);
  int status = -1;
  std::ifstream(status_file) >> status;
  std::filesystem::remove(status_file);
  for (const std::string& format : formats) {
    const std::filesystem::path output = folder / (figure.name + "." + format);
    const bool failed = status != 0;
    if (!std::filesystem::exists(output) || std::filesystem::file_size(output) == 0 || failed) {
      throw DataError((folder / (figure.name + ".gp")).string() + ": gnuplot did not draw " + output.filename().string() +
                      (errors.empty() ? std::string() : ": " + last_line(errors)));
    }
  }
}

}  // namespace qxbar
