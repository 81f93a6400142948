#include "plots/search_figures.h"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "plots/pareto.h"
#include "sim/core/errors.h"

namespace qxbar {
namespace {

using Kind = EvaluatedPolicy::Kind;

bool trained(const EvaluatedPolicy& row) { return row.evaluation.accuracy >= 0; }

// gnuplot does not count a block without data lines as an index; a point of NaNs keeps the numbering.
std::string filled(const std::string& block) { return block.empty() ? "NaN NaN \"\"\n" : block; }

// One figure of accuracy against a cost, per run four data blocks: searched policies, the Pareto front of
// everything trained, the uniform baselines and the chosen policy.
Figure pareto_figure(const std::vector<SearchRunData>& runs, const std::string& name, const std::string& axis,
                     double (*cost)(const Evaluation&)) {
  Figure figure{name, "# cost accuracy_percent label; per run four blocks: searched, front, baselines, chosen\n", ""};
  std::string plots;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const std::vector<EvaluatedPolicy>& rows = runs[r].rows;
    const auto line = [&](const EvaluatedPolicy& row) {
      return gnuplot_number(cost(row.evaluation)) + " " + gnuplot_number(100 * row.evaluation.accuracy) + " " +
             gnuplot_quoted(row.label.empty() ? policy_summary(row.policy) : row.label) + "\n";
    };
    std::vector<std::size_t> candidates;
    std::vector<TradeOff> points;
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (!trained(rows[i])) continue;
      candidates.push_back(i);
      points.push_back({cost(rows[i].evaluation), rows[i].evaluation.accuracy});
    }
    std::string searched;
    for (const EvaluatedPolicy& row : rows) {
      if (row.kind == Kind::Search && trained(row)) searched += line(row);
    }
    std::string front;
    for (const std::size_t i : pareto_front(points)) front += line(rows[candidates[i]]);
    std::string baselines;
    for (const EvaluatedPolicy& row : rows) {
      if (row.kind == Kind::Baseline && trained(row)) baselines += line(row);
    }
    std::string chosen;
    const std::size_t best = best_searched(rows);
    if (best < rows.size() && trained(rows[best])) chosen = line(rows[best]);
    figure.data += "# " + runs[r].name + ": searched\n" + filled(searched) + "\n\n# " + runs[r].name + ": Pareto front\n" +
                   filled(front) + "\n\n# " + runs[r].name + ": uniform baselines\n" + filled(baselines) + "\n\n# " +
                   runs[r].name + ": chosen\n" + filled(chosen) + "\n\n";

    const std::string color = "lc " + std::to_string(r + 1);
    const std::string prefix = runs.size() > 1 ? runs[r].name + ": " : "";
    const std::string block = "'" + name + ".dat' index " + std::to_string(4 * r);
    plots += (plots.empty() ? "plot " : ", \\\n     ") + block + " using 1:2 with points pt 7 ps 0.6 " + color +
             " title " + gnuplot_quoted(prefix + "evaluated policies");
    plots += ", \\\n     '" + name + ".dat' index " + std::to_string(4 * r + 1) + " using 1:2 with steps lw 2 " + color +
             " title " + gnuplot_quoted(prefix + "Pareto front");
    plots += ", \\\n     '" + name + ".dat' index " + std::to_string(4 * r + 2) + " using 1:2 with points pt 4 ps 1.2 " +
             color + " title " + gnuplot_quoted(prefix + "uniform baselines");
    plots += ", \\\n     '" + name + ".dat' index " + std::to_string(4 * r + 2) + " using 1:2:3 with labels offset 1,0.8 " +
             "font ',9' tc lt " + std::to_string(r + 1) + " notitle";
    plots += ", \\\n     '" + name + ".dat' index " + std::to_string(4 * r + 3) + " using 1:2 with points pt 3 ps 2.5 lw 2 " +
             color + " title " + gnuplot_quoted(prefix + "chosen policy");
  }
  figure.commands = "set xlabel " + gnuplot_quoted(axis) + "\nset ylabel \"validation accuracy [%]\"\nset grid\n" +
                    "set key bottom right\n" + plots + "\n";
  return figure;
}

Figure bits_figure(const SearchRunData& run, const std::string& name) {
  Figure figure{name, "# layer w_bits (mean over output channels) a_bits (chosen policy of " + run.name + ")\n", ""};
  const std::size_t best = best_searched(run.rows);
  if (best == run.rows.size()) throw DataError(run.name + ": no searched policy to draw yet");
  const Policy& policy = run.rows[best].policy;
  for (std::size_t layer = 0; layer < policy.layers.size(); ++layer) {
    std::ostringstream weights;
    weights << mean_weight_bits(policy.layers[layer]);
    figure.data += std::to_string(layer + 1) + " " + weights.str() + " " +
                   std::to_string(policy.layers[layer].a) + "\n";
  }
  figure.commands = "set title " + gnuplot_quoted(run.name + ": " + policy_summary(policy)) +
                    " noenhanced\nset xlabel \"layer (execution order)\"\nset ylabel \"bits\"\nset yrange [0:*]\n"
                    "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
                    "set grid ytics\nset key outside top center horizontal\nplot '" + name + ".dat' using 2:xtic(1) title \"weights\", '' using 3 title \"activations\"\n";
  return figure;
}

Figure progress_figure(const std::vector<SearchRunData>& runs) {
  Figure figure{"progress", "# episode reward best_reward; one block per run\n", ""};
  std::string plots;
  for (std::size_t r = 0; r < runs.size(); ++r) {
    std::string episodes;
    double best = 0;
    for (const EvaluatedPolicy& row : runs[r].rows) {
      if (row.kind != Kind::Search) continue;
      best = episodes.empty() ? row.evaluation.reward : std::max(best, row.evaluation.reward);
      episodes += std::to_string(row.episode) + " " + gnuplot_number(row.evaluation.reward) + " " + gnuplot_number(best) + "\n";
    }
    figure.data += "# " + runs[r].name + "\n" + (episodes.empty() ? "NaN NaN NaN\n" : episodes) + "\n\n";
    const std::string prefix = runs.size() > 1 ? runs[r].name + ": " : "";
    const std::string block = "'progress.dat' index " + std::to_string(r);
    plots += (plots.empty() ? "plot " : ", \\\n     ") + block + " using 1:2 with points pt 7 ps 0.5 lc " +
             std::to_string(r + 1) + " title " + gnuplot_quoted(prefix + "reward") + ", \\\n     " + block +
             " using 1:3 with lines lw 2 lc " + std::to_string(r + 1) + " title " + gnuplot_quoted(prefix + "best so far");
  }
  figure.commands = "set xlabel \"episode\"\nset ylabel \"reward\"\nset grid\nset key bottom right\n" + plots + "\n";
  return figure;
}

double latency_us(const Evaluation& e) { return e.latency_ns / 1000.0; }
double energy_uj(const Evaluation& e) { return e.energy_pj / 1e6; }

}  // namespace

SearchRunData read_search_run(const std::string& directory) {
  const std::filesystem::path store = std::filesystem::path(directory) / "search.sqlite";
  if (!std::filesystem::exists(store)) throw DataError(directory + ": not a search run (no search.sqlite)");
  std::filesystem::path folder = std::filesystem::path(directory).lexically_normal();
  if (folder.filename().empty()) folder = folder.parent_path();
  // qxbar run keeps its search in RUN/search: such a run goes by the run's name.
  if (folder.filename() == "search" && folder.has_parent_path()) folder = folder.parent_path();
  const std::string name = folder.filename().string();
  return {name, SearchStore(store.string()).load()};
}

std::vector<Figure> search_figures(const std::vector<SearchRunData>& runs) {
  std::vector<Figure> figures{pareto_figure(runs, "pareto_latency", "latency [us]", latency_us),
                              pareto_figure(runs, "pareto_energy", "energy [uJ]", energy_uj)};
  // Runs that have not searched yet (baselines only) have no progress and no chosen policy to draw.
  bool searched = false;
  for (const SearchRunData& run : runs) {
    if (best_searched(run.rows) == run.rows.size()) continue;
    searched = true;
    figures.push_back(bits_figure(run, runs.size() > 1 ? "bits_" + run.name : "bits"));
  }
  if (searched) figures.push_back(progress_figure(runs));
  return figures;
}

}  // namespace qxbar
