#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace qxbar {

// A progress line on stderr: a redrawn bar with rate and time left on a terminal, plain periodic lines
// (at most one every few seconds) when stderr is a file or pipe, so logs stay readable.
class Progress {
 public:
  // `resumed_at` units were done before this process started: they count towards the total, not the rate.
  Progress(std::string label, std::int64_t total, std::string unit, std::int64_t resumed_at = 0);
  void update(std::int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");
  // The same for work that ended early, after `done` of its units.
  void finish(std::int64_t done, const std::string& status);

  // No progress lines at all from then on (qxbar -q).
  static void silence();

 private:
  void draw(std::int64_t done, const std::string& status, bool final);
  std::string label_;
  std::int64_t total_;
  std::string unit_;
  std::int64_t resumed_at_;
  bool terminal_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  static bool silenced_;
};

}  // namespace qxbar
