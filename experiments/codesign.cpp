#include "experiments/codesign.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "experiments/fine_tune_evaluator.h"
#include "experiments/policy_search.h"
#include "experiments/run_folder.h"
#include "plots/pareto.h"
#include "plots/sweep_figures.h"
#include "search/codesign.h"
#include "sim/core/atomic_file.h"
#include "sim/core/progress.h"
#include "sim/core/yaml_reading.h"
#include "sim/energy.h"
#include "sim/engines.h"
#include "sim/store/sweep_store.h"

namespace qxbar {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

std::string budget_label(const std::string& metric, double budget) {
  char text[64];
  std::snprintf(text, sizeof text, "%s budget %g", metric.c_str(), budget);
  return text;
}

// What every rank needs to price a chip: the network, the base chip and LIMPQ's settings, built from the
// plan alone.
class ChipPricer {
 public:
  ChipPricer(const CodesignPlan& plan, const PolicySearchRequest& request)
      : plan_(plan),
        request_(request),
        model_(model_spec(plan.recipe, true)),
        base_chip_(load_chip_description(plan.recipe.chip)),
        limpq_(dynamic_cast<const ParametersOf<LimpqOptions>&>(request.algorithm.parameters("limpq")).values) {
    for (const std::string& assignment : plan.recipe.chip_set) base_chip_.apply_override(assignment);
    base_chip_.resolve();
  }

  const LimpqOptions& limpq() const { return limpq_; }

  // The space every chip's choices come from, weights free of any chip's cell resolution: the indicators
  // cover its widths.
  PolicySpace widest_space() const {
    SpaceOptions options = request_.space;
    options.cell_bits = 0;
    return PolicySpace(workload_, model_.geometry(), options);
  }

  ChipSpec chip(const std::vector<std::string>& values) const { return grid_chip(base_chip_, plan_.axes, values); }

  // A row per budget for the chip at `values`, numbered from `first_index`.
  std::vector<SweepRow> price(std::size_t first_index, const std::vector<std::string>& values,
                              const std::vector<LayerIndicators>& indicators) const {
    const std::vector<double>& budgets = plan_.options.budgets.values;
    const std::string& metric = request_.settings.reward;
    std::vector<SweepRow> rows(budgets.size());
    for (std::size_t b = 0; b < budgets.size(); ++b) {
      rows[b].index = first_index + b;
      rows[b].values = values;
      rows[b].network = plan_.recipe.network.architecture;
      rows[b].policy = budget_label(metric, budgets[b]);
    }
    try {
      const ChipSpec chip = this->chip(values);
      const std::unique_ptr<CostEngine> engine = make_cost_engine(request_.candidates.engine, chip, request_.cache);
      SpaceOptions options = request_.space;
      if (request_.candidates.cell_resolution) options.cell_bits = chip.crossbar.cell_bits;
      const PolicySpace space(workload_, model_.geometry(), options);
      const std::vector<ChipChoice> choices = choose_policies_for_chip(space, *engine, metric, indicators, limpq_, budgets);
      const double area_mm2 = area_of(chip).total() / 1e6;
      for (std::size_t b = 0; b < budgets.size(); ++b) {
        const ChipChoice& choice = choices[b];
        SweepRow& row = rows[b];
        if (!choice.problem.empty()) {
          row.status = choice.problem;
          continue;
        }
        row.status = SweepRow::kOk;
        row.latency_ns = choice.cost.latency_ns;
        row.energy_pj = choice.cost.energy_pj.total();
        row.energy_by_component_pj = choice.cost.energy_pj;
        row.area_mm2 = area_mm2;
        row.chip = chip.fingerprint;
        row.chosen_policy = policy_summary(choice.policy);
        row.objective = choice.objective;
      }
    } catch (const ConfigError& error) {
      // A chip the grid cannot build, or one that cannot run the network, is a result, not the end.
      for (SweepRow& row : rows) row.status = error.what();
    }
    return rows;
  }

 private:
  const CodesignPlan& plan_;
  const PolicySearchRequest& request_;
  Model model_;
  Workload workload_ = model_.workload();
  ChipDescription base_chip_;
  LimpqOptions limpq_;
};

// The objective each candidate reached against what it costs, the Pareto set ringed and the measured
// candidates labelled with their accuracy: how well the indicators predicted.
Figure objective_figure(const std::vector<SweepRow>& rows, const std::vector<std::size_t>& candidates,
                        const std::vector<std::size_t>& pareto, const std::vector<std::size_t>& measured, const std::string& metric) {
  const bool latency = metric == "latency";
  const auto cost = [&](const SweepRow& row) { return latency ? row.latency_ns / 1e6 : row.energy_pj / 1e6; };
  Figure figure{"codesign_objective", "", ""};
  figure.data = "# every candidate, the Pareto set, the measured candidates\n# " + std::string(latency ? "latency_ms" : "energy_uJ") +
                " objective area_mm2 accuracy\n";
  const auto line = [&](const SweepRow& row) {
    return gnuplot_number(cost(row)) + " " + gnuplot_number(*row.objective) + " " + gnuplot_number(row.area_mm2) + " " +
           (row.accuracy ? gnuplot_number(*row.accuracy) : std::string("NaN")) + "\n";
  };
  for (const std::size_t c : candidates) figure.data += line(rows[c]);
  figure.data += "\n\n";
  for (const std::size_t p : pareto) figure.data += line(rows[candidates[p]]);
  figure.data += "\n\n";
  for (const std::size_t m : measured) figure.data += line(rows[m]);
  figure.commands = std::string("set title \"chips and policies: predicted accuracy loss against cost\"\nset xlabel \"") +
                    (latency ? "latency [ms]" : "energy [uJ]") +
                    "\"\nset ylabel \"importance objective (lower: less accuracy lost)\"\nset cblabel \"area [mm^2]\"\n"
                    "set grid\nset format cb \"%.4g\"\nset palette rgbformulae 33,13,10\nset key top right\n"
                    "plot '" + figure.name + ".dat' index 0 using 1:2:3 with points pt 7 ps 1 lc palette title \"chip x budget\", "
                    "'' index 1 using 1:2 with points pt 6 ps 2 lw 2 lc rgb \"black\" title \"Pareto set\", "
                    "'' index 2 using 1:2:(sprintf(\"%.3f\", $4)) with labels offset 0,1.2 notitle\n";
  return figure;
}

CodesignPoint point_of(const SweepRow& row, double budget) {
  return {row.values, budget, *row.chosen_policy, *row.objective, row.latency_ns, row.energy_pj, row.area_mm2, row.accuracy};
}

Json point_json(const std::vector<std::string>& axes, const CodesignPoint& point, double target) {
  Json chip = Json::object();
  for (std::size_t axis = 0; axis < axes.size(); ++axis) chip[axes[axis]] = point.chip[axis];
  Json json = {{"chip", chip},           {"budget", point.budget},        {"policy", point.policy},
               {"objective", point.objective}, {"latency_ns", point.latency_ns}, {"energy_pj", point.energy_pj},
               {"area_mm2", point.area_mm2}};
  if (point.accuracy) {
    json["accuracy"] = *point.accuracy;
    json["on_target"] = *point.accuracy >= target;
  }
  return json;
}

void write_report(const CodesignPlan& plan, const CodesignOutcome& outcome, const std::string& directory) {
  const fs::path folder(directory);
  Json measured = Json::array();
  for (const CodesignPoint& point : outcome.measured) measured.push_back(point_json(outcome.axes, point, outcome.target));
  Json json = {{"network", plan.recipe.network.architecture},
               {"chip", plan.recipe.chip},
               {"metric", plan.recipe.search.settings.reward},
               {"chips", outcome.chips},
               {"chips_without_a_policy", outcome.invalid_chips},
               {"chips_screened_out", outcome.screened_out},
               {"points", outcome.points},
               {"feasible", outcome.feasible},
               {"candidates", outcome.candidates},
               {"pareto", outcome.pareto},
               {"int8_test_accuracy", outcome.int8_accuracy},
               {"reference_accuracy", outcome.reference_accuracy},
               {"target", outcome.target},
               {"measured", measured},
               {"best", outcome.best ? point_json(outcome.axes, *outcome.best, outcome.target) : Json()},
               {"database", outcome.database}};
  write_file_atomically((folder / "codesign.json").string(), json.dump(2) + "\n");

  char line[1024];
  std::string md = "# Co-design: " + plan.recipe.network.architecture + " on " + plan.recipe.data.name + ", chips around " +
                   plan.recipe.chip + "\n\n";
  std::snprintf(line, sizeof line,
                "%zu chips x %zu budgets of W8A8 %s = %zu points; %zu within budget, %zu candidates (area limit %g mm^2, 0: "
                "none), %zu on the Pareto set over (objective, latency, energy, area). %zu chips have no policy within any "
                "budget; %zu chips were screened out, losing the target at W8A8 as they compute.\n\nReference W8A8 validation accuracy %.4f after the candidates' fine-tune; target %.4f. Pareto "
                "candidates are fine-tuned cheapest first; a candidate whose objective is at least that of one that missed "
                "is skipped.\n\n",
                outcome.chips, plan.options.budgets.values.size(), plan.recipe.search.settings.reward.c_str(), outcome.points,
                outcome.feasible, outcome.candidates, plan.options.area_limit_mm2, outcome.pareto, outcome.invalid_chips,
                outcome.screened_out, outcome.reference_accuracy, outcome.target);
  md += line;
  md += "| chip | budget | objective | latency [us] | energy [uJ] | area [mm^2] | accuracy | policy |\n"
        "|---|---|---|---|---|---|---|---|\n";
  for (const CodesignPoint& point : outcome.measured) {
    const bool best = outcome.best && point.chip == outcome.best->chip && point.budget == outcome.best->budget;
    std::snprintf(line, sizeof line, "| %s%s%s | %g | %.4f | %.2f | %.4f | %.3f | %.4f%s | %s |\n", best ? "**" : "",
                  chip_label(outcome.axes, point.chip).c_str(), best ? "**" : "", point.budget, point.objective,
                  point.latency_ns / 1e3, point.energy_pj / 1e6, point.area_mm2, point.accuracy.value_or(0),
                  point.accuracy.value_or(0) >= outcome.target ? "" : " (missed)", point.policy.c_str());
    md += line;
  }
  md += outcome.best ? "\nBest: the cheapest measured on target, in bold.\n" : "\nNo measured candidate reached the target.\n";
  if (outcome.candidates > 0) md += "\n![objective](figures/codesign_objective.png)\n";
  write_file_atomically((folder / "codesign.md").string(), md);
}

}  // namespace

std::string chip_label(const std::vector<std::string>& axes, const std::vector<std::string>& values) {
  std::string text;
  for (std::size_t axis = 0; axis < axes.size(); ++axis) text += (axis == 0 ? "" : " ") + axes[axis] + "=" + values[axis];
  return text;
}

OptionSet codesign_options(CodesignOptions& options) {
  using O = CodesignOptions;
  static const std::vector<Option<CodesignOptions>> table = {
      {"budgets", "budgets", "cost budgets, fractions of each chip's W8A8 cost (the recipe's search.reward)", &O::budgets,
       {0, 1, true}},
      {"finalists", "finalists", "candidates on accuracy target to measure before stopping", &O::finalists, {1}},
      {"trainings", "trainings", "most candidate accuracies measured by fine-tuning (a resumed run counts those it reads back)",
       &O::trainings, {1}},
      {"area_limit_mm2", "area-limit", "chips of a larger area are not candidates (0: no limit)", &O::area_limit_mm2, {0}},
  };
  return bind_options(table, options);
}

CodesignPlan load_codesign(const std::string& path, const std::vector<std::string>& recipe_overrides) {
  const YAML::Node root = load_yaml_file(path);
  StrictMap map(root, path, "");
  CodesignPlan plan;
  plan.file = path;
  const YAML::Node recipe = map.take("recipe");
  const SourceLocation where = location_of(recipe, path);
  plan.recipe_path = scalar_text(recipe, where, "recipe");
  const fs::path beside = fs::path(path).parent_path() / plan.recipe_path;
  if (fs::is_regular_file(beside)) plan.recipe_path = beside.string();
  if (!fs::is_regular_file(plan.recipe_path)) throw ConfigError(located_message(where, "recipe", "no such recipe file"));
  std::vector<std::string> overrides;
  if (const YAML::Node list = map.take_optional("recipe_set")) {
    if (!list.IsSequence()) throw ConfigError(located_message(location_of(list, path), "recipe_set", "expected a list of key=value"));
    for (const YAML::Node& item : list) {
      const SourceLocation at = location_of(item, path);
      const std::string key = "recipe_set[" + std::to_string(overrides.size()) + "]";
      overrides.push_back(scalar_text(item, at, key));
      try {
        load_recipe(plan.recipe_path, {overrides.back()});
      } catch (const ConfigError& error) {
        throw ConfigError(located_message(at, key, error.what()));
      }
    }
  }
  overrides.insert(overrides.end(), recipe_overrides.begin(), recipe_overrides.end());
  plan.recipe = load_recipe(plan.recipe_path, overrides);
  const YAML::Node grid = map.take("grid");
  plan.axes = read_grid(grid, path);
  read_options(map, codesign_options(plan.options));
  map.reject_unknown_keys();
  const std::vector<double>& budgets = plan.options.budgets.values;
  if (budgets.empty()) throw ConfigError(located_message(location_of(root["budgets"], path), "budgets", "name at least one budget"));
  if (std::set<double>(budgets.begin(), budgets.end()).size() != budgets.size()) {
    throw ConfigError(located_message(location_of(root["budgets"], path), "budgets", "a budget is named twice"));
  }
  if (plan.recipe.search.settings.reward == "edp") {
    throw ConfigError(located_message(where, "recipe", "search.reward edp is not a sum over layers; co-design latency or energy"));
  }
  std::int64_t points = static_cast<std::int64_t>(plan.options.budgets.values.size());
  for (const SweepAxis& axis : plan.axes) {
    if (__builtin_mul_overflow(points, static_cast<std::int64_t>(axis.values.size()), &points) || points > kMaxSweepPoints) {
      throw ConfigError(located_message(location_of(grid, path), "grid",
                                        "with the budgets, more than the " + std::to_string(kMaxSweepPoints) + " points a co-design may hold"));
    }
  }
  return plan;
}

CodesignOutcome run_codesign(const CodesignPlan& plan, const std::string& directory, bool resume, SweepTeam& team) {
  const bool root = team.rank() == 0;
  const std::vector<double>& budgets = plan.options.budgets.values;
  // Rank 0 runs the recipe's stages and trains the indicators; every rank checks the chip and the network.
  std::optional<RecipeRun> run;
  std::optional<Stage> stage;
  std::optional<SweepStore> store;
  std::optional<DataSplits> candidate_images;  // what every candidate is fine-tuned and validated on
  std::optional<ChipPricer> pricer;
  PolicySearchRequest request = plan.recipe.search;
  std::string indicators_text;
  std::vector<std::size_t> stored;
  std::pair<double, double> accuracies;
  check_together(team, [&] {
    if (root) {
      run.emplace(plan.recipe, plan.recipe_path, directory, resume);
      accuracies = run->prepare();
      request = run->search_request("limpq");
    }
    request.algorithm.name = "limpq";
    if (!request.cache) request.cache = std::make_shared<CostCache>(CostCache::default_path());
    pricer.emplace(plan, request);
    if (root) {
      Json axes = Json::array();
      for (const SweepAxis& axis : plan.axes) axes.push_back({axis.key, axis.values});
      // The thread count shapes the indicators' float reductions: points priced from other indicators
      // must not mix with these.
      stage.emplace(run->folder(), "codesign",
                    key_of({{"int8", run->int8_stage().key()}, {"search", search_options_key(request)}, {"grid", axes},
                            {"budgets", budgets}, {"threads", torch::get_num_threads()}, {"layout", sweep_table_layout()}}));
      candidate_images.emplace(load_data(candidate_data(request)));
      FineTuneEvaluator trainer(request.checkpoint, *candidate_images, candidate_finetune(request), nullptr, stage->directory());
      const PolicySpace space = pricer->widest_space();
      const LimpqOptions& limpq = pricer->limpq();
      const IndicatorRequest indicators{space.weight_bit_choices(), space.activation_bit_choices(), space.searched_layers("limpq"),
                                        limpq.epochs, limpq.lr, limpq.indicators_from};
      indicators_text = encode_indicators(trainer.indicators(indicators));
      std::vector<std::string> keys;
      for (const SweepAxis& axis : plan.axes) keys.push_back(axis.key);
      store.emplace(stage->path("points.sqlite"), keys, stage->key());
      stored = store->stored_ids();
    }
  });
  const std::vector<LayerIndicators> indicators = decode_indicators(team.share(indicators_text));
  stored = team.share(stored);
  team.start_pricing();

  // A chip is priced whole, all its budgets from one table of per-layer costs.
  const std::vector<std::vector<std::string>> chips = grid_chips(plan.axes);
  const std::set<std::size_t> stored_set(stored.begin(), stored.end());
  std::vector<std::size_t> to_price;
  for (std::size_t c = 0; c < chips.size(); ++c) {
    for (std::size_t b = 0; b < budgets.size(); ++b) {
      if (stored_set.count(c * budgets.size() + b) == 0) {
        to_price.push_back(c);
        break;
      }
    }
  }
  std::vector<std::size_t> mine;
  for (const std::size_t position : deal(to_price.size(), team.rank(), team.size())) mine.push_back(to_price[position]);
  Progress progress("codesign", static_cast<std::int64_t>(to_price.size() * budgets.size()), "points");
  std::size_t recorded = 0;
  const auto start = std::chrono::steady_clock::now();
  collect_rows(
      team, mine, [&](std::size_t c) { return pricer->price(c * budgets.size(), chips[c], indicators); },
      [&](const SweepRow& row) {
        store->insert(row);
        progress.update(static_cast<std::int64_t>(++recorded));
      });
  request.cache->flush();
  if (!root) return {};
  progress.finish();
  team.end_pricing();

  CodesignOutcome outcome;
  for (const SweepAxis& axis : plan.axes) outcome.axes.push_back(axis.key);
  outcome.pricing_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  outcome.priced = recorded;
  outcome.database = stage->path("points.sqlite");
  outcome.int8_accuracy = accuracies.second;
  outcome.chips = chips.size();
  outcome.points = chips.size() * budgets.size();

  std::vector<SweepRow> rows = read_sweep(outcome.database).rows;
  if (rows.size() != outcome.points) throw std::logic_error("codesign: the store holds another number of points");

  // Accuracies: the W8A8 reference, then the Pareto candidates cheapest first. Fine-tuned in ideal
  // arithmetic, a policy's accuracy is the same on every chip; fine-tuned as each chip computes, it is not,
  // and a chip whose arithmetic loses the target even at W8A8 is screened out first.
  const bool on_chip = request.candidates.analog;
  Accuracies known = store->accuracies();
  const auto key_of_row = [&](const SweepRow& row) { return AccuracyKey{stage->key(), on_chip ? row.chip : "ideal", *row.chosen_policy}; };
  const Policy w8a8 = pricer->widest_space().reference();
  const AccuracyKey reference_key{stage->key(), "ideal", policy_summary(w8a8)};
  const auto measure = [&](const Policy& policy, const std::optional<ChipSpec>& chip, int epochs) {
    ++outcome.trainings;
    TrainOptions finetune = candidate_finetune(request);
    finetune.epochs = epochs;
    try {
      FineTuneEvaluator evaluator(request.checkpoint, *candidate_images, finetune,
                                  chip ? std::make_shared<const ChipSpec>(*chip) : nullptr);
      return evaluator.accuracy(policy);
    } catch (const DivergedError&) {
      return 0.0;  // a fine-tune that diverges keeps nothing of the network's accuracy
    } catch (const ConfigError& error) {
      if (!chip) throw;
      // A chip whose arithmetic cannot compute the network is a result of the grid, as in a sweep.
      spdlog::warn("codesign: {} computes nothing of the network: {}", chip->name, error.what());
      return 0.0;
    }
  };
  const auto remember = [&](const AccuracyKey& key, const std::vector<std::size_t>& points, double accuracy) {
    store->add_accuracy(points, key, {accuracy, 0});
    known[key] = {accuracy, 0};
  };
  if (known.count(reference_key) == 0) {
    spdlog::info("codesign: fine-tuning W8A8 for the reference accuracy");
    remember(reference_key, {}, measure(w8a8, std::nullopt, candidate_finetune(request).epochs));
  }
  outcome.reference_accuracy = known.at(reference_key).mean;
  outcome.target = outcome.reference_accuracy - request.settings.max_accuracy_drop / 100;

  std::vector<std::size_t> candidates;
  std::vector<std::vector<double>> costs;
  for (std::size_t c = 0; c < chips.size(); ++c) {
    std::vector<std::size_t> feasible;
    for (std::size_t b = 0; b < budgets.size(); ++b) {
      const SweepRow& row = rows[c * budgets.size() + b];
      if (row.ok()) feasible.push_back(row.index);
    }
    outcome.feasible += feasible.size();
    if (feasible.empty()) {
      ++outcome.invalid_chips;
      continue;
    }
    // A chip's area is the same at every budget.
    if (plan.options.area_limit_mm2 > 0 && rows[feasible.front()].area_mm2 > plan.options.area_limit_mm2) continue;
    if (on_chip) {
      const SweepRow& row = rows[feasible.front()];
      const AccuracyKey screen{stage->key(), row.chip, "screen " + reference_key.policy};
      if (known.count(screen) == 0) {
        spdlog::info("codesign: W8A8 as {} computes, calibrated and not fine-tuned", chip_label(outcome.axes, row.values));
        remember(screen, {}, measure(w8a8, pricer->chip(row.values), 0));
      }
      if (known.at(screen).mean < outcome.target) {
        ++outcome.screened_out;
        continue;
      }
    }
    for (const std::size_t index : feasible) {
      const SweepRow& row = rows[index];
      candidates.push_back(index);
      costs.push_back({*row.objective, row.latency_ns, row.energy_pj, row.area_mm2});
    }
  }
  outcome.candidates = candidates.size();
  const std::vector<std::size_t> pareto = pareto_set(costs);
  outcome.pareto = pareto.size();

  std::vector<CodesignCandidate> finalists;
  std::map<AccuracyKey, std::size_t> measurements;
  for (const std::size_t p : pareto) {
    const SweepRow& row = rows[candidates[p]];
    const std::size_t measurement = measurements.emplace(key_of_row(row), measurements.size()).first->second;
    finalists.push_back({request.settings.reward == "latency" ? row.latency_ns : row.energy_pj, *row.objective,
                         on_chip ? row.index / budgets.size() : 0, measurement});
  }
  const FinalistSelection selection = select_finalists(
      finalists, outcome.target, plan.options.finalists, plan.options.trainings,
      [&](std::size_t f) -> std::optional<double> {
        const auto found = known.find(key_of_row(rows[candidates[pareto[f]]]));
        if (found == known.end()) return std::nullopt;
        return found->second.mean;
      },
      [&](std::size_t f) {
        const SweepRow& row = rows[candidates[pareto[f]]];
        spdlog::info("codesign: fine-tuning {} on {}", *row.chosen_policy, chip_label(outcome.axes, row.values));
        const Policy policy = parse_policy_summary(*row.chosen_policy, outcome.database);
        const double accuracy = measure(policy, on_chip ? std::optional<ChipSpec>(pricer->chip(row.values)) : std::nullopt,
                                        candidate_finetune(request).epochs);
        const AccuracyKey key = key_of_row(row);
        std::vector<std::size_t> sharing;
        for (const SweepRow& other : rows) {
          if (other.ok() && key_of_row(other) == key) sharing.push_back(other.index);
        }
        remember(key, sharing, accuracy);
        return accuracy;
      });
  rows = read_sweep(outcome.database).rows;
  std::vector<std::size_t> measured_rows;
  for (std::size_t m = 0; m < selection.measured.size(); ++m) {
    const SweepRow& row = rows[candidates[pareto[selection.measured[m]]]];
    measured_rows.push_back(row.index);
    CodesignPoint point = point_of(row, budgets[row.index % budgets.size()]);
    point.accuracy = selection.accuracies[m];
    outcome.measured.push_back(point);
    if (selection.best == selection.measured[m]) outcome.best = point;
  }

  const fs::path folder(directory);
  write_report(plan, outcome, directory);
  outcome.table_path = (folder / "codesign.md").string();
  const std::string figures = (folder / "figures").string();
  for (const Figure& figure : sweep_figures(read_sweep_table(outcome.database), {})) render(figure, figures, {"png", "svg"});
  if (!candidates.empty()) render(objective_figure(rows, candidates, pareto, measured_rows, request.settings.reward), figures, {"png", "svg"});
  stage->finish({{"best", outcome.best ? point_json(outcome.axes, *outcome.best, outcome.target) : Json()}});
  return outcome;
}

}  // namespace qxbar
