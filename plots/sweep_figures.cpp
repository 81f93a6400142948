#include "plots/sweep_figures.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "plots/pareto.h"
#include "sim/core/errors.h"

namespace qxbar {
namespace {

struct Group {
  std::string network;
  std::string policy;
  std::string tag;  // in file names; unique among the sweep's groups
};

// "8,8" reads as W8A8; a policy file by its name.
std::string policy_label(const std::string& policy) {
  const std::size_t comma = policy.find(',');
  if (comma != std::string::npos) return "W" + policy.substr(0, comma) + "A" + policy.substr(comma + 1);
  // A policy file by its name; any other entry (a co-design's budget) as it reads.
  const std::filesystem::path file(policy);
  for (const char* extension : {".yaml", ".yml", ".npy"}) {
    if (file.extension() == extension) return file.stem().string();
  }
  return policy;
}

// A file name part: letters, digits, '-' and '_' only.
std::string slug(const std::string& text) {
  std::string result;
  for (const char c : text) result += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '-';
  return result;
}

std::vector<std::string> distinct_values(const SweepTable& table, std::size_t axis) {
  std::vector<std::string> values;
  for (const SweepRow& row : table.rows) {
    if (std::find(values.begin(), values.end(), row.values[axis]) == values.end()) values.push_back(row.values[axis]);
  }
  return values;
}

std::size_t axis_index(const SweepTable& table, const std::string& key, const std::string& option) {
  const auto found = std::find(table.axes.begin(), table.axes.end(), key);
  if (found != table.axes.end()) return static_cast<std::size_t>(found - table.axes.begin());
  std::string known;
  for (const std::string& axis : table.axes) known += (known.empty() ? "" : ", ") + axis;
  throw ConfigError(option + " " + key + ": not a swept key of " + table.name + " (choose " + known + ")");
}

std::string tics(const std::vector<std::string>& values) {
  std::string text = "(";
  for (std::size_t i = 0; i < values.size(); ++i) text += (i == 0 ? "" : ", ") + gnuplot_quoted(values[i]) + " " + std::to_string(i);
  return text + ")";
}

struct Quantity {
  const char* name;
  const char* label;
  double (*value)(const SweepRow&);  // NaN where the point has none
  bool logarithmic;  // costs span orders of magnitude across a grid; accuracies do not
};

const Quantity kLatency{"latency", "latency [ms]", [](const SweepRow& row) { return row.latency_ns / 1e6; }, true};
const Quantity kEnergy{"energy", "energy [uJ]", [](const SweepRow& row) { return row.energy_pj / 1e6; }, true};
const Quantity kAccuracy{"accuracy", "test accuracy", [](const SweepRow& row) { return row.accuracy.value_or(NAN); }, false};

// The heatmap of one quantity over two swept keys for one network and policy, or nothing when no chip of
// that slice has a value.
std::vector<Figure> heatmap(const SweepTable& table, const Group& group, const Quantity& quantity, std::size_t x, std::size_t y,
                            const std::vector<std::string>& fixed) {
  const std::vector<std::string> xs = distinct_values(table, x);
  const std::vector<std::string> ys = distinct_values(table, y);
  std::string slice;
  for (std::size_t axis = 0; axis < table.axes.size(); ++axis) {
    if (axis != x && axis != y) slice += (slice.empty() ? "" : ", ") + table.axes[axis] + "=" + fixed[axis];
  }
  Figure figure{quantity.name + std::string("_map_") + group.tag, "", ""};
  figure.data = "# " + std::string(quantity.label) + " of " + group.network + " at " + policy_label(group.policy) + " over " +
                table.axes[x] + " (column) and " + table.axes[y] + " (row)" + (slice.empty() ? "" : "; " + slice) +
                "; NaN: invalid chip\n# x_index y_index value\n";
  bool any_valid = false;
  for (std::size_t iy = 0; iy < ys.size(); ++iy) {
    for (std::size_t ix = 0; ix < xs.size(); ++ix) {
      double value = NAN;
      for (const SweepRow& row : table.rows) {
        if (row.network != group.network || row.policy != group.policy || row.values[x] != xs[ix] || row.values[y] != ys[iy]) continue;
        bool in_slice = true;
        for (std::size_t axis = 0; axis < table.axes.size(); ++axis) {
          in_slice = in_slice && (axis == x || axis == y || row.values[axis] == fixed[axis]);
        }
        if (in_slice && row.ok()) value = quantity.value(row);
      }
      any_valid = any_valid || std::isfinite(value);
      figure.data += std::to_string(ix) + " " + std::to_string(iy) + " " + gnuplot_number(value) + "\n";
    }
  }
  if (!any_valid) return {};
  figure.commands = "set title " + gnuplot_quoted(group.network + " at " + policy_label(group.policy) + (slice.empty() ? "" : " (" + slice + ")")) +
                    " noenhanced\nset xlabel " + gnuplot_quoted(table.axes[x]) + " noenhanced\nset ylabel " +
                    gnuplot_quoted(table.axes[y]) + " noenhanced\nset cblabel " + gnuplot_quoted(quantity.label) +
                    "\nset xtics " + tics(xs) + "\nset ytics " + tics(ys) + "\nset xrange [-0.5:" +
                    std::to_string(xs.size()) + "-0.5]\nset yrange [-0.5:" + std::to_string(ys.size()) +
                    "-0.5]\n" + (quantity.logarithmic ? "set logscale cb\n" : "") + "set palette rgbformulae 33,13,10\nunset key\n"
                    "plot '" + figure.name + ".dat' using 1:2:3 with image, '' using 1:2:($3 == $3 ? sprintf(\"%.3g\", $3) : \"\") with labels\n";
  return {figure};
}

// Energy against latency of every valid chip for one network and policy, coloured by area, with the
// chips no other chip beats in latency, energy and area at once ringed; when the chips were tested, in
// accuracy too, and the ringed chips labelled with theirs.
std::vector<Figure> scatter(const SweepTable& table, const Group& group) {
  std::vector<const SweepRow*> valid;
  for (const SweepRow& row : table.rows) {
    if (row.ok() && row.network == group.network && row.policy == group.policy) valid.push_back(&row);
  }
  if (valid.empty()) return {};
  const bool tested = std::all_of(valid.begin(), valid.end(), [](const SweepRow* row) { return row->accuracy.has_value(); });
  std::vector<std::vector<double>> costs;
  for (const SweepRow* row : valid) {
    costs.push_back({row->latency_ns, row->energy_pj, row->area_mm2});
    if (tested) costs.back().push_back(-*row->accuracy);
  }
  const std::vector<std::size_t> pareto = pareto_set(costs);
  Figure figure{"tradeoff_" + group.tag, "", ""};
  auto line = [&](const SweepRow& row) {
    std::string chip;
    for (std::size_t axis = 0; axis < table.axes.size(); ++axis) chip += (axis == 0 ? "" : " ") + table.axes[axis] + "=" + row.values[axis];
    return gnuplot_number(kLatency.value(row)) + " " + gnuplot_number(kEnergy.value(row)) + " " + gnuplot_number(row.area_mm2) + " " +
           (tested ? gnuplot_number(kAccuracy.value(row)) + " " : "") + gnuplot_quoted(chip) + "\n";
  };
  const std::string objectives = tested ? "accuracy, latency, energy, area" : "latency, energy, area";
  figure.data = "# " + group.network + " at " + policy_label(group.policy) + ": every valid chip, then the Pareto set over " +
                objectives + "\n# latency_ms energy_uJ area_mm2 " + (tested ? "accuracy " : "") + "chip\n";
  for (const SweepRow* row : valid) figure.data += line(*row);
  figure.data += "\n\n";
  for (const std::size_t index : pareto) figure.data += line(*valid[index]);
  figure.commands = "set title " + gnuplot_quoted(group.network + " at " + policy_label(group.policy)) +
                    " noenhanced\nset xlabel \"latency [ms]\"\nset ylabel \"energy [uJ]\"\nset cblabel \"area [mm^2]\"\n"
                    "set logscale xy\nset grid\nset format cb \"%.4g\"\nset palette rgbformulae 33,13,10\nset key top left\n"
                    "plot '" + figure.name + ".dat' index 0 using 1:2:3 with points pt 7 ps 1.2 lc palette title \"chips\", "
                    "'' index 1 using 1:2 with points pt 6 ps 2.4 lw 2 lc rgb \"black\" title \"Pareto set (" + objectives + ")\"" +
                    (tested ? ", '' index 1 using 1:2:(sprintf(\"%.3f\", $4)) with labels offset 0,1.2 notitle" : "") + "\n";
  return {figure};
}

}  // namespace

SweepTable read_sweep_table(const std::string& database) {
  SweepTable table{read_sweep(database), std::filesystem::path(database).stem().string()};
  if (table.rows.empty()) throw DataError(database + ": holds no points yet");
  return table;
}

std::vector<Figure> sweep_figures(const SweepTable& table, const SweepFigureOptions& options) {
  std::vector<Group> groups;
  for (const SweepRow& row : table.rows) {
    const auto same = [&](const Group& group) { return group.network == row.network && group.policy == row.policy; };
    if (std::none_of(groups.begin(), groups.end(), same)) groups.push_back({row.network, row.policy, ""});
  }
  // Two policy files of one name (each search's best_policy.yaml) must not overwrite each other's figures.
  std::set<std::string> tags;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    groups[i].tag = slug(groups[i].network) + "_" + slug(policy_label(groups[i].policy));
    if (!tags.insert(groups[i].tag).second) groups[i].tag += "_" + std::to_string(i + 1);
    tags.insert(groups[i].tag);
  }
  std::vector<std::string> fixed(table.axes.size());
  for (std::size_t axis = 0; axis < table.axes.size(); ++axis) fixed[axis] = table.rows.front().values[axis];
  for (const auto& [key, value] : options.fixed) {
    const std::size_t axis = axis_index(table, key, "--fix");
    const std::vector<std::string> values = distinct_values(table, axis);
    if (std::find(values.begin(), values.end(), value) == values.end()) {
      throw ConfigError("--fix " + key + "=" + value + ": " + table.name + " has no point with " + key + " = " + value);
    }
    fixed[axis] = value;
  }
  const bool maps = table.axes.size() >= 2;
  std::size_t x = 0;
  std::size_t y = 1;
  if (!options.x_axis.empty()) x = axis_index(table, options.x_axis, "--x");
  if (!options.y_axis.empty()) y = axis_index(table, options.y_axis, "--y");
  if (maps && options.y_axis.empty() && x == y) y = x == 0 ? 1 : 0;
  if (maps && x == y) throw ConfigError("--x and --y name the same key " + table.axes[x]);

  std::vector<Figure> figures;
  for (const Group& group : groups) {
    if (maps) {
      for (const Quantity* quantity : {&kLatency, &kEnergy, &kAccuracy}) {
        for (Figure& figure : heatmap(table, group, *quantity, x, y, fixed)) figures.push_back(std::move(figure));
      }
    }
    for (Figure& figure : scatter(table, group)) figures.push_back(std::move(figure));
  }
  return figures;
}

}  // namespace qxbar
