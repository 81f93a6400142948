#include "sim/core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <mutex>
#include <set>
#include <tuple>

#include "sim/core/errors.h"

namespace qxbar {
namespace {

// Device and inode, and the inode's last change: a file deleted since it was read may hand its inode
// number to a new file, which is not the input.
using FileIdentity = std::tuple<dev_t, ino_t, std::int64_t>;

FileIdentity identity(const struct stat& status) {
  return {status.st_dev, status.st_ino, std::int64_t{status.st_ctim.tv_sec} * 1000000000 + status.st_ctim.tv_nsec};
}

struct InputFiles {
  std::mutex mutex;
  std::set<FileIdentity> identities;
};

InputFiles& input_files() {
  static InputFiles files;
  return files;
}

bool is_input_file(const struct stat& status) {
  InputFiles& files = input_files();
  const std::lock_guard<std::mutex> lock(files.mutex);
  return files.identities.count(identity(status)) > 0;
}

DataError cannot_write(const std::string& path, int error) {
  return DataError(path + ": cannot write: " + std::strerror(error));
}

// Writes `bytes` to `file`; errors name `target`, the file the user asked for.
void write_bytes(const std::string& file, const std::string& target, const std::string& bytes) {
  std::FILE* stream = std::fopen(file.c_str(), "wb");
  if (stream == nullptr) throw cannot_write(target, errno);
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), stream) == bytes.size() && std::fflush(stream) == 0;
  const int write_errno = errno;
  if (std::fclose(stream) != 0 || !written) throw cannot_write(target, write_errno);
}

// Whether `path` is a regular file whose contents are `bytes`: then nothing needs writing.
bool holds_exactly(const std::string& path, const std::string& bytes) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0 || !S_ISREG(status.st_mode) || static_cast<std::uint64_t>(status.st_size) != bytes.size()) {
    return false;
  }
  std::FILE* stream = std::fopen(path.c_str(), "rb");
  if (stream == nullptr) return false;
  std::string held(bytes.size(), '\0');
  const bool read = std::fread(held.data(), 1, held.size(), stream) == held.size();
  std::fclose(stream);
  return read && held == bytes;
}

}  // namespace

void note_input_file(const std::string& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return;
  InputFiles& files = input_files();
  const std::lock_guard<std::mutex> lock(files.mutex);
  files.identities.insert(identity(status));
}

void write_file_atomically(const std::string& path, const std::function<void(const std::string& temporary)>& write) {
  std::string target = path;
  struct stat status {};
  if (::stat(path.c_str(), &status) == 0) {
    if (S_ISDIR(status.st_mode)) throw DataError(path + ": cannot write: is a directory");
    if (is_input_file(status)) throw ConfigError(path + ": is one of this command's inputs; choose another output");
    if (!S_ISREG(status.st_mode)) {
      write(path);  // a device or a FIFO: nothing to keep whole, and it must stay what it is
      return;
    }
    // A link (or a chain of them) is kept: the file it leads to is the one replaced.
    std::error_code error;
    const std::filesystem::path resolved = std::filesystem::canonical(path, error);
    if (!error) target = resolved.string();
  } else {
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code ignored;
    if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
  }
  const std::string temporary = target + ".tmp." + std::to_string(::getpid());
  try {
    write(temporary);
    const int descriptor = ::open(temporary.c_str(), O_RDONLY);
    if (descriptor < 0 || ::fsync(descriptor) != 0) {
      const int sync_errno = errno;
      if (descriptor >= 0) ::close(descriptor);
      throw cannot_write(path, sync_errno);
    }
    ::close(descriptor);
    if (std::rename(temporary.c_str(), target.c_str()) != 0) throw cannot_write(path, errno);
  } catch (const UserError&) {
    std::remove(temporary.c_str());
    throw;
  } catch (const std::exception& error) {
    std::remove(temporary.c_str());
    throw DataError(path + ": cannot write: " + error.what());
  }
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  if (holds_exactly(path, bytes)) return;
  write_file_atomically(path, [&](const std::string& file) { write_bytes(file, path, bytes); });
}

}  // namespace qxbar
