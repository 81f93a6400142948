#include "sim/store/sweep_store.h"

#include <sqlite3.h>

#include <filesystem>
#include <functional>
#include <new>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <variant>

#include <nlohmann/json.hpp>

#include "sim/core/errors.h"

namespace qxbar {

// A value of one column of one row; monostate is SQL's NULL.
using SweepCell = std::variant<std::monostate, std::int64_t, double, std::string>;

// How a column stores its values. A swept value is stored as what its text reads as (an integer, a
// number or text), so the table can be queried by value.
enum class Storage { Integer, Scalar, Text, Real };

struct SweepColumn {
  std::string name;
  Storage storage;
  const char* constraint;  // follows the type in CREATE TABLE
  std::function<SweepCell(const SweepRow&)> get;
  std::function<void(SweepRow&, SweepCell)> set;
};

bool AccuracyKey::operator<(const AccuracyKey& other) const {
  return std::tie(checkpoint, chip, policy) < std::tie(other.checkpoint, other.chip, other.policy);
}

bool AccuracyKey::operator==(const AccuracyKey& other) const {
  return std::tie(checkpoint, chip, policy) == std::tie(other.checkpoint, other.chip, other.policy);
}

namespace {

template <typename Value>
SweepCell cell_of(const Value& value) {
  if constexpr (std::is_integral_v<Value>) {
    return static_cast<std::int64_t>(value);
  } else {
    return value;
  }
}

template <typename Value>
Value value_of(SweepCell cell) {
  if constexpr (std::is_integral_v<Value>) {
    return static_cast<Value>(std::get<std::int64_t>(cell));
  } else {
    return std::get<Value>(std::move(cell));
  }
}

// A column every row fills; `field` returns the row's member, for a const row and for one being read.
template <typename Field>
SweepColumn point_column(std::string name, Storage storage, const char* constraint, Field field) {
  using Value = std::decay_t<decltype(field(std::declval<SweepRow&>()))>;
  return {std::move(name), storage, constraint, [field](const SweepRow& row) { return cell_of(field(row)); },
          [field](SweepRow& row, SweepCell cell) { field(row) = value_of<Value>(std::move(cell)); }};
}

// A column only a priced point fills: NULL for an invalid point.
template <typename Field>
SweepColumn cost_column(std::string name, Storage storage, Field field) {
  using Value = std::decay_t<decltype(field(std::declval<SweepRow&>()))>;
  return {std::move(name), storage, "", [field](const SweepRow& row) { return row.ok() ? cell_of(field(row)) : SweepCell(); },
          [field](SweepRow& row, SweepCell cell) {
            if (!std::holds_alternative<std::monostate>(cell)) field(row) = value_of<Value>(std::move(cell));
          }};
}

// A column of a priced point that only some sweeps fill: NULL where the row has no value.
template <typename Field>
SweepColumn optional_column(std::string name, Storage storage, Field field) {
  using Value = typename std::decay_t<decltype(field(std::declval<SweepRow&>()))>::value_type;
  return {std::move(name), storage, "",
          [field](const SweepRow& row) { return row.ok() && field(row) ? cell_of(*field(row)) : SweepCell(); },
          [field](SweepRow& row, SweepCell cell) {
            if (!std::holds_alternative<std::monostate>(cell)) field(row) = value_of<Value>(std::move(cell));
          }};
}

// The points table has had three layouts; the second added the accuracy columns, the third the chosen
// policy and its objective. Tables of all are read, only the third is written.
constexpr int kLayout = 3;

// The points table, an entry per column: creating, inserting, merging, reading, sending rows between
// processes and the CSV all walk it, so a new cost is one entry here (and in SweepRow).
std::vector<SweepColumn> sweep_columns(const std::vector<std::string>& axes, int layout = kLayout) {
  std::vector<SweepColumn> columns;
  columns.push_back(point_column("id", Storage::Integer, "PRIMARY KEY", [](auto& row) -> auto& { return row.index; }));
  for (std::size_t axis = 0; axis < axes.size(); ++axis) {
    columns.push_back(point_column(axes[axis], Storage::Scalar, "", [axis](auto& row) -> auto& { return row.values.at(axis); }));
  }
  columns.push_back(point_column("network", Storage::Text, "NOT NULL", [](auto& row) -> auto& { return row.network; }));
  columns.push_back(point_column("policy", Storage::Text, "NOT NULL", [](auto& row) -> auto& { return row.policy; }));
  columns.push_back(point_column("status", Storage::Text, "NOT NULL", [](auto& row) -> auto& { return row.status; }));
  columns.push_back(cost_column("latency_ns", Storage::Real, [](auto& row) -> auto& { return row.latency_ns; }));
  columns.push_back(cost_column("energy_pj", Storage::Real, [](auto& row) -> auto& { return row.energy_pj; }));
  columns.push_back(cost_column("area_mm2", Storage::Real, [](auto& row) -> auto& { return row.area_mm2; }));
  for (const Component component : kComponents) {
    columns.push_back(cost_column(energy_column(component), Storage::Real, [component](auto& row) -> auto& {
      return row.energy_by_component_pj.values[static_cast<std::size_t>(component)];
    }));
  }
  columns.push_back(cost_column("chip", Storage::Text, [](auto& row) -> auto& { return row.chip; }));
  if (layout >= 2) {
    columns.push_back({"accuracy", Storage::Real, "",
                       [](const SweepRow& row) { return row.ok() && row.accuracy ? SweepCell(*row.accuracy) : SweepCell(); },
                       [](SweepRow& row, SweepCell cell) {
                         if (const auto* accuracy = std::get_if<double>(&cell)) row.accuracy = *accuracy;
                       }});
    columns.push_back({"accuracy_std", Storage::Real, "",
                       [](const SweepRow& row) {
                         return row.ok() && row.accuracy && row.accuracy_std ? SweepCell(*row.accuracy_std) : SweepCell();
                       },
                       [](SweepRow& row, SweepCell cell) {
                         if (const auto* spread = std::get_if<double>(&cell)) row.accuracy_std = *spread;
                       }});
  }
  if (layout >= 3) {
    columns.push_back(optional_column("chosen_policy", Storage::Text, [](auto& row) -> auto& { return row.chosen_policy; }));
    columns.push_back(optional_column("objective", Storage::Real, [](auto& row) -> auto& { return row.objective; }));
  }
  return columns;
}

// Rows travel between processes without column names: the cells are in the table's order, after the id
// one per swept key.
std::vector<SweepColumn> unnamed_columns(std::size_t axes) { return sweep_columns(std::vector<std::string>(axes)); }

std::size_t columns_beside_axes(int layout = kLayout) { return sweep_columns({}, layout).size(); }

// The accuracies table, keyed by what each accuracy was evaluated from.
constexpr const char* kAccuracyColumns = "checkpoint, chip, policy, accuracy, accuracy_std";

template <typename CellAt>
SweepRow row_from(const std::vector<SweepColumn>& columns, std::size_t axes, CellAt cell_at) {
  SweepRow row;
  row.values.resize(axes);
  for (std::size_t column = 0; column < columns.size(); ++column) columns[column].set(row, cell_at(column));
  return row;
}

std::string quoted_identifier(const std::string& name) { return "\"" + name + "\""; }

std::string column_list(const std::vector<SweepColumn>& columns) {
  std::string list;
  for (const SweepColumn& column : columns) list += (list.empty() ? "" : ", ") + quoted_identifier(column.name);
  return list;
}

std::string declaration(const SweepColumn& column) {
  std::string text = quoted_identifier(column.name);
  switch (column.storage) {
    case Storage::Integer: text += " INTEGER"; break;
    case Storage::Scalar: break;  // no type: each value keeps its own
    case Storage::Text: text += " TEXT"; break;
    case Storage::Real: text += " REAL"; break;
  }
  return *column.constraint == '\0' ? text : text + " " + column.constraint;
}

void bind_cell(SqliteStatement& statement, int parameter, Storage storage, const SweepCell& cell) {
  if (const auto* integer = std::get_if<std::int64_t>(&cell)) {
    statement.bind(parameter, *integer);
  } else if (const auto* real = std::get_if<double>(&cell)) {
    statement.bind(parameter, *real);
  } else if (const auto* text = std::get_if<std::string>(&cell)) {
    storage == Storage::Scalar ? statement.bind_scalar(parameter, *text) : statement.bind(parameter, *text);
  }
}

SweepCell read_cell(const SqliteStatement& select, int column, Storage storage) {
  if (select.is_null(column)) return {};
  switch (storage) {
    case Storage::Integer: return select.integer(column);
    case Storage::Real: return select.real(column);
    case Storage::Scalar:
    case Storage::Text: break;
  }
  return select.text(column);
}

nlohmann::json json_of(const SweepCell& cell) {
  return std::visit(
      [](const auto& value) -> nlohmann::json {
        if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::monostate>) {
          return nullptr;
        } else {
          return value;
        }
      },
      cell);
}

SweepCell cell_from_json(const nlohmann::json& json, Storage storage) {
  if (json.is_null()) return {};
  switch (storage) {
    case Storage::Integer: return json.get<std::int64_t>();
    case Storage::Real: return json.get<double>();
    case Storage::Scalar:
    case Storage::Text: break;
  }
  return json.get<std::string>();
}

// The text SQLite gives a REAL, which the CSV has shown since its first version.
std::string sqlite_text(double value) {
  char* text = sqlite3_mprintf("%!.15g", value);
  if (text == nullptr) throw std::bad_alloc();
  std::string result(text);
  sqlite3_free(text);
  return result;
}

std::string csv_field(const SweepCell& cell) {
  std::string text;
  if (const auto* integer = std::get_if<std::int64_t>(&cell)) text = std::to_string(*integer);
  if (const auto* real = std::get_if<double>(&cell)) text = sqlite_text(*real);
  if (const auto* string = std::get_if<std::string>(&cell)) text = *string;
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string escaped = "\"";
  for (const char c : text) escaped += c == '"' ? std::string("\"\"") : std::string(1, c);
  return escaped + "\"";
}

}  // namespace

SweepStore::SweepStore(const std::string& path, const std::vector<std::string>& axes, const std::string& plan_fingerprint)
    : lock_(path, path), db_(path), plan_fingerprint_(plan_fingerprint), columns_(sweep_columns(axes)) {
  db_.execute("PRAGMA journal_mode=WAL");
  db_.execute("PRAGMA synchronous=NORMAL");
  std::string declarations;
  for (const SweepColumn& column : columns_) declarations += (declarations.empty() ? "" : ", ") + declaration(column);
  db_.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  db_.execute("CREATE TABLE IF NOT EXISTS points (" + declarations + ")");
  db_.execute("CREATE TABLE IF NOT EXISTS accuracies (checkpoint TEXT NOT NULL, chip TEXT NOT NULL, policy TEXT NOT NULL,"
              " accuracy REAL NOT NULL, accuracy_std REAL NOT NULL, PRIMARY KEY (checkpoint, chip, policy))");
  db_.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('plan', ?)").bind(1, plan_fingerprint).run();
  SqliteStatement read = db_.prepare("SELECT value FROM meta WHERE key = 'plan'");
  if (!read.next_row() || read.text(0) != plan_fingerprint) {
    throw ConfigError(path + ": holds the points of another sweep; choose another --db");
  }
  std::string parameters;
  for (std::size_t column = 0; column < columns_.size(); ++column) parameters += column == 0 ? "?" : ", ?";
  insert_.emplace(db_.prepare("INSERT OR IGNORE INTO points (" + column_list(columns_) + ") VALUES (" + parameters + ")"));
  insert_accuracy_.emplace(db_.prepare(std::string("INSERT OR IGNORE INTO accuracies (") + kAccuracyColumns + ") VALUES (?, ?, ?, ?, ?)"));
}

SweepStore::~SweepStore() = default;

std::vector<std::size_t> SweepStore::stored_ids() const {
  SqliteStatement select = db_.prepare("SELECT id FROM points ORDER BY id");
  std::vector<std::size_t> ids;
  while (select.next_row()) ids.push_back(static_cast<std::size_t>(select.integer(0)));
  return ids;
}

void SweepStore::insert(const SweepRow& row, const std::optional<AccuracyKey>& evaluated) {
  if (row.accuracy && !evaluated) throw std::logic_error("an accuracy without what it was evaluated from");
  db_.transaction([&] {
    int parameter = 1;
    for (const SweepColumn& column : columns_) bind_cell(*insert_, parameter++, column.storage, column.get(row));
    insert_->run();
    if (row.accuracy) {
      insert_accuracy_->bind(1, evaluated->checkpoint).bind(2, evaluated->chip).bind(3, evaluated->policy).bind(4, *row.accuracy);
      insert_accuracy_->bind(5, row.accuracy_std.value_or(0.0));
      insert_accuracy_->run();
    }
  });
}

Accuracies SweepStore::accuracies() const {
  SqliteStatement select = db_.prepare(std::string("SELECT ") + kAccuracyColumns + " FROM accuracies");
  Accuracies accuracies;
  while (select.next_row()) accuracies[{select.text(0), select.text(1), select.text(2)}] = {select.real(3), select.real(4)};
  return accuracies;
}

void SweepStore::add_accuracy(const std::vector<std::size_t>& indices, const AccuracyKey& evaluated,
                              const MeasuredAccuracy& accuracy) {
  db_.transaction([&] {
    insert_accuracy_->bind(1, evaluated.checkpoint).bind(2, evaluated.chip).bind(3, evaluated.policy).bind(4, accuracy.mean);
    insert_accuracy_->bind(5, accuracy.std);
    insert_accuracy_->run();
    SqliteStatement update = db_.prepare("UPDATE points SET accuracy = ?, accuracy_std = ? WHERE id = ? AND status = ?");
    for (const std::size_t index : indices) {
      update.bind(1, accuracy.mean).bind(2, accuracy.std).bind(3, static_cast<std::int64_t>(index)).bind(4, std::string(SweepRow::kOk));
      update.run();
    }
  });
}

std::size_t SweepStore::merge_from(const std::string& source) {
  check_sweep_of_plan(source, plan_fingerprint_);
  db_.prepare("ATTACH DATABASE ? AS source").bind(1, source).run();
  try {
    const std::size_t before = count();
    const std::string columns = column_list(columns_);
    db_.transaction([&] {
      db_.execute("INSERT OR IGNORE INTO points (" + columns + ") SELECT " + columns + " FROM source.points");
      db_.execute(std::string("INSERT OR IGNORE INTO accuracies (") + kAccuracyColumns + ") SELECT " + kAccuracyColumns +
                  " FROM source.accuracies");
    });
    const std::size_t added = count() - before;
    db_.execute("DETACH DATABASE source");
    return added;
  } catch (...) {
    try {
      db_.execute("DETACH DATABASE source");
    } catch (const DataError&) {
      // The first error is the one to report.
    }
    throw;
  }
}

std::size_t SweepStore::count() const {
  SqliteStatement select = db_.prepare("SELECT COUNT(*) FROM points");
  select.next_row();
  return static_cast<std::size_t>(select.integer(0));
}

void check_sweep_of_plan(const std::string& database, const std::string& plan_fingerprint) {
  if (!std::filesystem::is_regular_file(database)) throw DataError(database + ": no such sweep database");
  std::optional<std::string> plan;
  try {
    const SqliteDb db(database);
    SqliteStatement read = db.prepare("SELECT value FROM meta WHERE key = 'plan'");
    if (read.next_row()) plan = read.text(0);
  } catch (const DataError&) {
    // Not SQLite at all, or SQLite without a sweep's tables: either way not a sweep database.
  }
  if (!plan) throw DataError(database + ": not a sweep database");
  if (*plan != plan_fingerprint) throw ConfigError(database + ": holds the points of another sweep");
}

std::string sweep_table_layout() {
  // Naming the components makes a new component a new layout by itself; any other change of the
  // columns needs the next version.
  std::string layout = "points-v" + std::to_string(kLayout);
  for (const Component component : kComponents) layout += std::string(",") + to_string(component);
  return layout;
}

SweepResults read_sweep(const std::string& database) {
  if (!std::filesystem::is_regular_file(database)) throw DataError(database + ": no such sweep database");
  const SqliteDb db(database);
  std::vector<std::string> names;
  try {
    const SqliteStatement layout = db.prepare("SELECT * FROM points LIMIT 0");
    for (int column = 0; column < layout.column_count(); ++column) names.push_back(layout.column_name(column));
  } catch (const DataError&) {
    throw DataError(database + ": not a sweep database (no points table)");
  }
  // The swept keys are the columns between the id and the columns every sweep of a layout has.
  for (int layout = kLayout; layout >= 1; --layout) {
    const std::size_t beside = columns_beside_axes(layout);
    if (names.size() < beside) continue;
    SweepResults results;
    results.axes.assign(names.begin() + 1, names.end() - static_cast<std::ptrdiff_t>(beside - 1));
    const std::vector<SweepColumn> columns = sweep_columns(results.axes, layout);
    std::vector<std::string> expected;
    for (const SweepColumn& column : columns) expected.push_back(column.name);
    if (names != expected) continue;
    SqliteStatement select = db.prepare("SELECT " + column_list(columns) + " FROM points ORDER BY id");
    while (select.next_row()) {
      results.rows.push_back(row_from(columns, results.axes.size(), [&](std::size_t column) {
        return read_cell(select, static_cast<int>(column), columns[column].storage);
      }));
    }
    return results;
  }
  throw DataError(database + ": not a sweep database of this version (other columns)");
}

std::string sweep_csv(const SweepResults& results) {
  const std::vector<SweepColumn> columns = sweep_columns(results.axes);
  std::string csv;
  for (const SweepColumn& column : columns) csv += (&column == &columns.front() ? "" : ",") + csv_field(column.name);
  csv += "\n";
  for (const SweepRow& row : results.rows) {
    for (const SweepColumn& column : columns) csv += (&column == &columns.front() ? "" : ",") + csv_field(column.get(row));
    csv += "\n";
  }
  return csv;
}

std::string encode_sweep_rows(const std::vector<SweepRow>& rows) {
  nlohmann::json encoded = nlohmann::json::array();
  for (const SweepRow& row : rows) {
    nlohmann::json cells = nlohmann::json::array();
    for (const SweepColumn& column : unnamed_columns(row.values.size())) cells.push_back(json_of(column.get(row)));
    encoded.push_back(std::move(cells));
  }
  return encoded.dump();
}

std::vector<SweepRow> decode_sweep_rows(const std::string& text) {
  std::vector<SweepRow> rows;
  for (const nlohmann::json& cells : nlohmann::json::parse(text)) {
    if (cells.size() < columns_beside_axes()) throw std::logic_error("a sweep row of " + std::to_string(cells.size()) + " cells");
    const std::size_t axes = cells.size() - columns_beside_axes();
    const std::vector<SweepColumn> columns = unnamed_columns(axes);
    rows.push_back(row_from(columns, axes, [&](std::size_t column) { return cell_from_json(cells.at(column), columns[column].storage); }));
  }
  return rows;
}

std::string encode_accuracies(const Accuracies& accuracies) {
  nlohmann::json encoded = nlohmann::json::array();
  for (const auto& [key, accuracy] : accuracies) {
    encoded.push_back({key.checkpoint, key.chip, key.policy, accuracy.mean, accuracy.std});
  }
  return encoded.dump();
}

Accuracies decode_accuracies(const std::string& text) {
  Accuracies accuracies;
  for (const nlohmann::json& entry : nlohmann::json::parse(text)) {
    accuracies[{entry.at(0).get<std::string>(), entry.at(1).get<std::string>(), entry.at(2).get<std::string>()}] = {
        entry.at(3).get<double>(), entry.at(4).get<double>()};
  }
  return accuracies;
}

}  // namespace qxbar
