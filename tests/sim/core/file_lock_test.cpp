#include "sim/core/file_lock.h"

#include <gtest/gtest.h>

#include <optional>

#include "sim/core/errors.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using qxbar::testing::TempDir;

TEST(FileLock, SecondWriterIsRefusedUntilTheFirstLetsGo) {
  TempDir dir;
  std::optional<FileLock> first;
  first.emplace(dir.file("run/search"), "run");
  try {
    FileLock second(dir.file("run/search"), "run");
    FAIL() << "two holders of one lock";
  } catch (const ConfigError& error) {
    EXPECT_STREQ(error.what(), "run: another qxbar process is writing to it; wait for it or choose another");
  }
  first.reset();
  EXPECT_NO_THROW(FileLock(dir.file("run/search"), "run"));
}

}  // namespace
}  // namespace qxbar
