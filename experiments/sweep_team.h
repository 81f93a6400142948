#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/core/errors.h"
#include "sim/store/sweep_store.h"

namespace qxbar {

// The processes that price one sweep together. Only rank 0 opens the database; the others price their
// deal of the points and send it their rows, so the database never has two writers.
class SweepTeam {
 public:
  virtual ~SweepTeam() = default;
  virtual std::size_t rank() const = 0;
  virtual std::size_t size() const = 0;
  // Collective: every rank gives its error ("" for none); returns the lowest failing rank (size() when
  // none failed) and sets `message` to its error.
  virtual std::size_t first_failure(const std::string& error, std::string& message) = 0;
  // Collective: rank 0's list or text, on every rank.
  virtual std::vector<std::size_t> share(const std::vector<std::size_t>& from_rank_0) = 0;
  virtual std::string share(const std::string& from_rank_0) = 0;
  virtual void send(const SweepRow& row) = 0;  // ranks > 0
  virtual void send_done() = 0;                // ranks > 0: no more rows will come
  // Rank 0: the next row another rank sent, nullopt when none is waiting.
  virtual std::optional<SweepRow> receive() = 0;
  // Rank 0: whether every other rank has sent its last row (and receive() has handed them all out).
  virtual bool others_done() const = 0;
  // Ends every rank's process, for a failure the other ranks cannot learn of (they would wait forever).
  [[noreturn]] virtual void abort(int exit_code) = 0;

  // Set once every rank has checked the sweep and the pricing begins: from then on a failure on one rank
  // can only be handled by ending them all.
  bool pricing() const { return pricing_; }
  void start_pricing() { pricing_ = true; }
  // Once every rank has sent its last row, rank 0 works on alone and may fail as a single process does.
  void end_pricing() { pricing_ = false; }

 private:
  bool pricing_ = false;
};

// Collective: runs `check` on every rank. When it throws on any rank, the lowest such rank rethrows its
// error and the others throw SweepStopped, so that one rank reports it.
void check_together(SweepTeam& team, const std::function<void()>& check);

// Runs a command's `work` on this rank and returns its exit code as the team must see it: 0 when it
// succeeded; 2 on a rank stopped by another's failure (that rank reports it). A failure after pricing
// began ends every rank's process (they would wait for this one forever); before, or in a team of one,
// it is rethrown for the command line to report.
int run_as_team_member(SweepTeam& team, const std::function<void()>& work);

// The team's pricing loop, called on every rank: each rank turns its `items` into rows with `produce`;
// rank 0 records its own rows and every other rank's as they arrive, the others send theirs. Returns on
// rank 0 once every rank's last row is recorded.
void collect_rows(SweepTeam& team, const std::vector<std::size_t>& items,
                  const std::function<std::vector<SweepRow>(std::size_t item)>& produce,
                  const std::function<void(const SweepRow& row)>& record);

// A team of one, for a sweep run as a single process.
std::unique_ptr<SweepTeam> solo_team();

// The team this process belongs to: the ranks of its MPI job when an MPI launcher (mpirun, srun) started
// it and qxbar was built with MPI, else a team of one. MPI stays initialised while the team lives.
std::unique_ptr<SweepTeam> join_sweep_team();

// Thrown on the ranks that did not fail when another rank did; that rank reports the error.
class SweepStopped : public UserError {
 public:
  using UserError::UserError;
};

}  // namespace qxbar
