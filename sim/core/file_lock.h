#pragma once

#include <string>

namespace qxbar {

// An exclusive lock on PATH.lock for the lifetime of this object, so two processes never write the same
// results at once. The operating system drops it when the process ends, however it ends, so a killed
// run never leaves a stale lock behind.
class FileLock {
 public:
  // Throws ConfigError naming `what` when another process holds the lock.
  FileLock(const std::string& path, const std::string& what);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int descriptor_ = -1;
};

}  // namespace qxbar
