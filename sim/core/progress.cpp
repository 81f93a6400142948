#include "sim/core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace qxbar {
namespace {

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto total = static_cast<long>(seconds + 0.5);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%02ld:%02ld", total / 60, total % 60);
  }
  return text;
}

}  // namespace

bool Progress::silenced_ = false;

void Progress::silence() { silenced_ = true; }

Progress::Progress(std::string label, std::int64_t total, std::string unit, std::int64_t resumed_at)
    : label_(std::move(label)), total_(total), unit_(std::move(unit)), resumed_at_(resumed_at), terminal_(::isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {}

void Progress::update(std::int64_t done, const std::string& status) {
  const auto now = std::chrono::steady_clock::now();
  const double since_draw = std::chrono::duration<double>(now - last_draw_).count();
  if (since_draw < (terminal_ ? 0.1 : 10.0)) return;
  last_draw_ = now;
  draw(done, status, false);
}

void Progress::finish(const std::string& status) { finish(total_, status); }

void Progress::finish(std::int64_t done, const std::string& status) { draw(done, status, true); }

void Progress::draw(std::int64_t done, const std::string& status, bool final) {
  if (silenced_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  // Units replayed from a previous process take no time; until new ones are done there is no rate.
  const double rate = elapsed > 0 ? std::max(0.0, static_cast<double>(done - resumed_at_) / elapsed) : 0.0;
  const double left = rate > 0 ? static_cast<double>(total_ - done) / rate : NAN;
  const double fraction = total_ > 0 ? static_cast<double>(done) / static_cast<double>(total_) : 1.0;
  char line[512];
  if (terminal_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(fraction * kWidth);
    std::snprintf(line, sizeof line, "\r%s [%s%s] %3.0f%% %.1f %s/s %s %s %s", label_.c_str(),
                  std::string(static_cast<std::size_t>(filled), '#').c_str(),
                  std::string(static_cast<std::size_t>(kWidth - filled), '.').c_str(), 100 * fraction, rate,
                  unit_.c_str(), final ? "took" : "eta", clock_text(final ? elapsed : left).c_str(), status.c_str());
    std::fprintf(stderr, "%s\033[K%s", line, final ? "\n" : "");
  } else {
    std::snprintf(line, sizeof line, "%s: %lld/%lld %s (%.0f%%), %.1f %s/s, %s %s %s\n", label_.c_str(),
                  static_cast<long long>(done), static_cast<long long>(total_), unit_.c_str(), 100 * fraction, rate,
                  unit_.c_str(), final ? "took" : "eta", clock_text(final ? elapsed : left).c_str(), status.c_str());
    std::fputs(line, stderr);
  }
  std::fflush(stderr);
}

}  // namespace qxbar
