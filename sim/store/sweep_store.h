#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/file_lock.h"
#include "sim/core/sqlite_db.h"
#include "sim/energy.h"

namespace qxbar {

// One point of a sweep and what pricing it gave, as a sweep database stores it.
struct SweepRow {
  static constexpr const char* kOk = "ok";  // the status of a priced point

  std::size_t index = 0;            // the point's number in the sweep's grid
  std::vector<std::string> values;  // one per swept chip key; read back as SQLite renders them (1e3 as 1000.0)
  std::string network;
  std::string policy;
  std::string status;  // kOk, or why the point is invalid; an invalid point has no costs and no chip
  double latency_ns = 0;
  double energy_pj = 0;
  double area_mm2 = 0;
  PerComponent energy_by_component_pj;
  std::string chip;  // the chip's fingerprint
  // The test accuracy of the sweep's checkpoint as this chip computes it; none for a point that was not
  // evaluated (no checkpoint, another network, an invalid chip).
  std::optional<double> accuracy;
  // Its sample standard deviation over the noise seeds (0 with one seed or on a chip without noise).
  std::optional<double> accuracy_std;
  // Where the point's policy was chosen for its chip (qxbar codesign: `policy` names the budget): the
  // policy chosen, as policy_summary() writes it, and the importance objective it reached.
  std::optional<std::string> chosen_policy;
  std::optional<double> objective;

  bool ok() const { return status == kOk; }
};

// What an accuracy was evaluated from: points that share all three share it.
struct AccuracyKey {
  std::string checkpoint;  // the fingerprint of its file
  std::string chip;        // the chip's fingerprint
  std::string policy;      // as policy_summary() writes it

  bool operator<(const AccuracyKey& other) const;
  bool operator==(const AccuracyKey& other) const;
};
// An accuracy as evaluated: the mean over noise seeds and its sample standard deviation.
struct MeasuredAccuracy {
  double mean = 0;
  double std = 0;

  bool operator==(const MeasuredAccuracy& other) const { return mean == other.mean && std == other.std; }
};
using Accuracies = std::map<AccuracyKey, MeasuredAccuracy>;

struct SweepColumn;

// The points table of one sweep plan, a committed row per point; only one process opens it for writing at
// a time. WAL with normal synchronisation: a commit survives the process being killed (only a power loss
// may take back the last commits), without a disk flush per point.
class SweepStore {
 public:
  // Creates the table with a column per swept key, or opens the one a run of the same plan began; a
  // database of another plan is a ConfigError.
  SweepStore(const std::string& path, const std::vector<std::string>& axes, const std::string& plan_fingerprint);
  ~SweepStore();
  SweepStore(const SweepStore&) = delete;
  SweepStore& operator=(const SweepStore&) = delete;

  std::vector<std::size_t> stored_ids() const;
  // A point stored before is kept as it is. A row with an accuracy stores it under `evaluated` too, in
  // the same transaction.
  void insert(const SweepRow& row, const std::optional<AccuracyKey>& evaluated = std::nullopt);
  // Every accuracy stored, so that no run evaluates one again.
  Accuracies accuracies() const;
  // Stores an accuracy evaluated after the points were priced, on the stored points `indices`, in one
  // transaction with the accuracies table.
  void add_accuracy(const std::vector<std::size_t>& indices, const AccuracyKey& evaluated, const MeasuredAccuracy& accuracy);
  // Adds the points and accuracies of another database of the same plan (a shard); returns how many
  // points were new.
  std::size_t merge_from(const std::string& source);

 private:
  std::size_t count() const;

  FileLock lock_;
  SqliteDb db_;
  std::string plan_fingerprint_;
  std::vector<SweepColumn> columns_;
  std::optional<SqliteStatement> insert_;
  std::optional<SqliteStatement> insert_accuracy_;
};

// Throws DataError naming the file when it is no sweep database, ConfigError when it holds another plan's
// points.
void check_sweep_of_plan(const std::string& database, const std::string& plan_fingerprint);

// The layout of the points table, part of each plan's fingerprint so that no run resumes a database of
// another layout.
std::string sweep_table_layout();

// Every point a sweep database holds, read through the same column table that wrote them.
struct SweepResults {
  std::vector<std::string> axes;  // the swept chip keys, in the sweep file's order
  std::vector<SweepRow> rows;     // in point order
};

// A missing file, or one without a points table of this layout, is a DataError.
SweepResults read_sweep(const std::string& database);

// One line per point, a column per column of the table; numbers as SQLite prints them (15 significant
// digits), empty fields for the costs an invalid point does not have.
std::string sweep_csv(const SweepResults& results);

// Rows as text for sending between processes. Doubles travel with enough digits to read back exactly,
// so a row priced on any process is stored bit for bit as the receiving one would have priced it.
std::string encode_sweep_rows(const std::vector<SweepRow>& rows);
std::vector<SweepRow> decode_sweep_rows(const std::string& text);
std::string encode_accuracies(const Accuracies& accuracies);
Accuracies decode_accuracies(const std::string& text);

}  // namespace qxbar
