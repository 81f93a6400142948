#include "sim/core/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "sim/core/errors.h"

namespace qxbar {

FileLock::FileLock(const std::string& path, const std::string& what) {
  const std::string lock_path = path + ".lock";
  const std::filesystem::path folder = std::filesystem::path(lock_path).parent_path();
  std::error_code error;
  if (!folder.empty() && !std::filesystem::is_directory(folder) && !std::filesystem::create_directories(folder, error)) {
    throw DataError(folder.string() + ": cannot be made a folder" + (error ? ": " + error.message() : std::string(": a file is in the way")));
  }
  descriptor_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (descriptor_ < 0) throw DataError(lock_path + ": cannot create lock file: " + std::strerror(errno));
  if (::flock(descriptor_, LOCK_EX | LOCK_NB) != 0) {
    ::close(descriptor_);
    throw ConfigError(what + ": another qxbar process is writing to it; wait for it or choose another");
  }
}

FileLock::~FileLock() { ::close(descriptor_); }

}  // namespace qxbar
