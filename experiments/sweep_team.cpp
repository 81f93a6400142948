#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include "experiments/sweep_team.h"

#ifdef QXBAR_WITH_MPI
#include <mpi.h>

#include <deque>
#endif

namespace qxbar {
namespace {

class SoloTeam : public SweepTeam {
 public:
  std::size_t rank() const override { return 0; }
  std::size_t size() const override { return 1; }
  std::size_t first_failure(const std::string& error, std::string& message) override {
    message = error;
    return error.empty() ? 1 : 0;
  }
  std::vector<std::size_t> share(const std::vector<std::size_t>& from_rank_0) override { return from_rank_0; }
  std::string share(const std::string& from_rank_0) override { return from_rank_0; }
  void send(const SweepRow&) override { throw std::logic_error("a team of one has no one to send to"); }
  void send_done() override {}
  std::optional<SweepRow> receive() override { return std::nullopt; }
  bool others_done() const override { return true; }
  void abort(int) override { throw std::logic_error("a team of one has no other ranks to stop"); }
};

// Launchers tell their processes who they are through the environment: Open MPI's mpirun, and the
// PMI/PMIx interfaces of MPICH's mpiexec and of Slurm's srun.
bool started_by_mpi_launcher() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK", "PMIX_RANK"}) {
    if (std::getenv(variable) != nullptr) return true;
  }
  return false;
}

#ifdef QXBAR_WITH_MPI

constexpr int kRowTag = 1;
constexpr int kDoneTag = 2;

class MpiTeam : public SweepTeam {
 public:
  MpiTeam() {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    int rank = 0;
    int size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    rank_ = static_cast<std::size_t>(rank);
    size_ = static_cast<std::size_t>(size);
  }
  ~MpiTeam() override { MPI_Finalize(); }

  std::size_t rank() const override { return rank_; }
  std::size_t size() const override { return size_; }

  std::size_t first_failure(const std::string& error, std::string& message) override {
    int mine = error.empty() ? static_cast<int>(size_) : static_cast<int>(rank_);
    int failed = 0;
    MPI_Allreduce(&mine, &failed, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (failed == static_cast<int>(size_)) return size_;
    std::string text = error;
    broadcast(text, failed);
    message = text;
    return static_cast<std::size_t>(failed);
  }

  std::vector<std::size_t> share(const std::vector<std::size_t>& from_rank_0) override {
    unsigned long long count = from_rank_0.size();
    MPI_Bcast(&count, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    std::vector<unsigned long long> values(from_rank_0.begin(), from_rank_0.end());
    values.resize(count);
    MPI_Bcast(values.data(), static_cast<int>(count), MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
    return std::vector<std::size_t>(values.begin(), values.end());
  }

  std::string share(const std::string& from_rank_0) override {
    std::string text = from_rank_0;
    broadcast(text, 0);
    return text;
  }

  // Rows go out in batches a few times a second: a message per row kept both ranks waiting on each other.
  void send(const SweepRow& row) override {
    outbox_.push_back(row);
    if (std::chrono::steady_clock::now() - last_sent_ > std::chrono::milliseconds(250)) send_outbox();
  }

  void send_done() override {
    send_outbox();
    MPI_Send(nullptr, 0, MPI_CHAR, 0, kDoneTag, MPI_COMM_WORLD);
  }

  std::optional<SweepRow> receive() override {
    for (;;) {
      if (!inbox_.empty()) {
        SweepRow row = std::move(inbox_.front());
        inbox_.pop_front();
        return row;
      }
      MPI_Status status;
      int arrived = 0;
      MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &arrived, &status);
      if (!arrived) return std::nullopt;
      int length = 0;
      MPI_Get_count(&status, MPI_CHAR, &length);
      std::string text(static_cast<std::size_t>(length), '\0');
      MPI_Recv(text.data(), length, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      if (status.MPI_TAG == kRowTag) {
        for (SweepRow& row : decode_sweep_rows(text)) inbox_.push_back(std::move(row));
      } else {
        ++done_ranks_;
      }
    }
  }

  bool others_done() const override { return inbox_.empty() && done_ranks_ + 1 == size_; }

  void abort(int exit_code) override {
    MPI_Abort(MPI_COMM_WORLD, exit_code);
    std::_Exit(exit_code);  // MPI_Abort does not return; this only tells the compiler so
  }

 private:
  void send_outbox() {
    last_sent_ = std::chrono::steady_clock::now();
    if (outbox_.empty()) return;
    const std::string text = encode_sweep_rows(outbox_);
    outbox_.clear();
    MPI_Send(text.data(), static_cast<int>(text.size()), MPI_CHAR, 0, kRowTag, MPI_COMM_WORLD);
  }

  void broadcast(std::string& text, int root) {
    unsigned long long length = text.size();
    MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, root, MPI_COMM_WORLD);
    text.resize(length);
    MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, root, MPI_COMM_WORLD);
  }

  std::size_t rank_ = 0;
  std::size_t size_ = 1;
  std::size_t done_ranks_ = 0;
  std::vector<SweepRow> outbox_;
  std::chrono::steady_clock::time_point last_sent_ = std::chrono::steady_clock::now();
  std::deque<SweepRow> inbox_;
};

#endif

}  // namespace

void check_together(SweepTeam& team, const std::function<void()>& check) {
  std::exception_ptr failure;
  std::string error;
  try {
    check();
  } catch (const std::exception& caught) {
    // Any failure, not only a user's mistake: the other ranks would otherwise wait for this one forever.
    failure = std::current_exception();
    error = caught.what();
  }
  std::string message;
  const std::size_t failed = team.first_failure(error, message);
  if (failed == team.rank()) std::rethrow_exception(failure);
  if (failed < team.size()) throw SweepStopped(message);
}

int run_as_team_member(SweepTeam& team, const std::function<void()>& work) {
  try {
    work();
  } catch (const SweepStopped&) {
    return 2;
  } catch (const std::exception& error) {
    if (team.size() <= 1 || !team.pricing()) throw;
    std::fprintf(stderr, "qxbar: error: rank %zu: %s\n", team.rank(), error.what());
    team.abort(dynamic_cast<const UserError*>(&error) != nullptr ? 2 : 1);
  }
  return 0;
}

void collect_rows(SweepTeam& team, const std::vector<std::size_t>& items,
                  const std::function<std::vector<SweepRow>(std::size_t item)>& produce,
                  const std::function<void(const SweepRow& row)>& record) {
  const bool root = team.rank() == 0;
  for (const std::size_t item : items) {
    for (const SweepRow& row : produce(item)) root ? record(row) : team.send(row);
    if (root) {
      while (const std::optional<SweepRow> received = team.receive()) record(*received);
    }
  }
  if (!root) {
    team.send_done();
    return;
  }
  for (;;) {
    if (const std::optional<SweepRow> received = team.receive()) {
      record(*received);
    } else if (team.others_done()) {
      return;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
}

std::unique_ptr<SweepTeam> solo_team() { return std::make_unique<SoloTeam>(); }

std::unique_ptr<SweepTeam> join_sweep_team() {
  if (!started_by_mpi_launcher()) return solo_team();
#ifdef QXBAR_WITH_MPI
  return std::make_unique<MpiTeam>();
#else
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    const char* size = std::getenv(variable);
    if (size != nullptr && std::atoi(size) > 1) {
      throw ConfigError("qxbar was built without MPI (cmake -DQXBAR_WITH_MPI=ON needs an MPI library): under an MPI "
                        "launcher every process would price the whole sweep");
    }
  }
  return solo_team();
#endif
}

}  // namespace qxbar
