#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "sim/core/errors.h"

namespace qxbar::testing {

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("qxbar-test-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" +
             std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(file(name), std::ios::binary) << content;
    return file(name);
  }

 private:
  std::filesystem::path path_;
};

// A chip that reads its crossbars in row groups, shared by the engines' row-group tests so that both price
// the same chip: 8x8 crossbars of 2-bit cells read two rows at a time (a quarter of the rows), 1-bit DACs,
// 4-bit SAR converters at 1 GHz, offset mapping, data movement hidden.
inline constexpr const char* kRowGroupChipYaml = R"(
chip: {clock_mhz: 1000, data_movement: hidden}
mapping: offset
hierarchy: {crossbars_per_pe: 4}
crossbar: {rows: 8, rows_per_read: 2, cols: 8, cell_bits: 2, read_time_ns: 100}
dac: {bits: 1}
adc: {kind: sar, bits: 4, columns_per_adc: 8}
shift_add: {latency_cycles: 1}
)";

inline std::string source_path(const std::string& relative) { return std::string(QXBAR_SOURCE_DIR) + "/" + relative; }

inline std::string read_text(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>()};
}

// The message of the UserError subtype E thrown by `action`; fails the test if none is thrown.
template <typename E, typename F>
std::string error_message(F&& action) {
  try {
    action();
  } catch (const E& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an exception";
  return {};
}

}  // namespace qxbar::testing
