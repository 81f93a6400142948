#include "sim/core/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "sim/core/errors.h"
#include "tests/test_support.h"

namespace qxbar {
namespace {

using testing::read_text;
using testing::TempDir;

std::size_t entries(const std::string& directory) {
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(directory), {}));
}

TEST(AtomicFile, ReplacesAWholeFileAndLeavesNothingElse) {
  const TempDir dir;
  write_file_atomically(dir.file("out/result.txt"), "first");  // the folder is made
  write_file_atomically(dir.file("out/result.txt"), "second");
  EXPECT_EQ(read_text(dir.file("out/result.txt")), "second");
  EXPECT_EQ(entries(dir.file("out")), 1u);
  EXPECT_THROW(write_file_atomically(dir.file("out/result.txt/inside"), "x"), DataError);
}

TEST(AtomicFile, AFailedWriteKeepsTheTargetAndRemovesTheTemporary) {
  const TempDir dir;
  const std::string path = dir.write("model.pt", "the checkpoint");
  const auto half_then_fail = [](const std::string& temporary) {
    std::ofstream(temporary) << "half";
    throw std::runtime_error("No space left on device");
  };
  try {
    write_file_atomically(path, half_then_fail);
    FAIL() << "expected a DataError";
  } catch (const DataError& error) {
    EXPECT_EQ(std::string(error.what()), path + ": cannot write: No space left on device");
  }
  EXPECT_EQ(read_text(path), "the checkpoint");
  EXPECT_EQ(entries(dir.file("")), 1u);
}

TEST(AtomicFile, ASymbolicLinkStaysAndItsTargetChanges) {
  const TempDir dir;
  const std::string target = dir.write("target.csv", "old");
  const std::string link = dir.file("link.csv");
  std::filesystem::create_symlink(target, link);
  write_file_atomically(link, "new");
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(read_text(target), "new");
}

TEST(AtomicFile, AFifoIsWrittenInPlaceAndStaysAFifo) {
  const TempDir dir;
  const std::string fifo = dir.file("pipe");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string received;
  std::thread reader([&] { received = read_text(fifo); });
  write_file_atomically(fifo, "through the pipe");
  reader.join();
  EXPECT_EQ(received, "through the pipe");
  struct stat status {};
  ASSERT_EQ(::stat(fifo.c_str(), &status), 0);
  EXPECT_TRUE(S_ISFIFO(status.st_mode));
}

TEST(AtomicFile, BytesAlreadyHeldAreNotWrittenAgainEvenOverAnInput) {
  const TempDir dir;
  const std::string path = dir.write("recipe.yaml", "seed: 1\n");
  struct stat before {};
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  note_input_file(path);
  write_file_atomically(path, "seed: 1\n");  // the same bytes: nothing replaced, so nothing refused
  struct stat after {};
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_THROW(write_file_atomically(path, "seed: 2\n"), ConfigError);
  EXPECT_EQ(read_text(path), "seed: 1\n");
}

TEST(AtomicFile, ADirectoryIsRefused) {
  const TempDir dir;
  std::filesystem::create_directories(dir.file("folder"));
  EXPECT_THROW(write_file_atomically(dir.file("folder"), "x"), DataError);
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("folder")));
}

TEST(AtomicFile, AnInputOfTheProcessIsNeverReplacedUnderAnyName) {
  const TempDir dir;
  const std::string input = dir.write("m.pt", "weights");
  const std::string other_spelling = dir.file("./m.pt");
  const std::string hard_link = dir.file("same.pt");
  std::filesystem::create_hard_link(input, hard_link);
  note_input_file(input);
  for (const std::string& path : {input, other_spelling, hard_link}) {
    EXPECT_THROW(write_file_atomically(path, "{}"), ConfigError) << path;
  }
  EXPECT_EQ(read_text(input), "weights");
  write_file_atomically(dir.file("m.json"), "{}");  // other files are written as ever
  EXPECT_EQ(read_text(dir.file("m.json")), "{}");
}

}  // namespace
}  // namespace qxbar
