#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

namespace qxbar::fuzz {

// The fuzzer's bytes as a file, since qxbar's readers take paths as users give them: one file per
// process and extension, rewritten for every input.
inline std::string as_file(const std::uint8_t* data, std::size_t size, const std::string& extension) {
  static const std::string folder = [] {
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp != nullptr ? tmp : "/tmp");
  }();
  const std::string path = folder + "/qxbar-fuzz-" + std::to_string(::getpid()) + extension;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace qxbar::fuzz
