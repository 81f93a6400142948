#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace qxbar {

// FNV-1a, 64 bit: stable across compilers and runs (std::hash is not), so fingerprints can key files on disk.
inline std::string fingerprint_hex(std::string_view text) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (const unsigned char byte : text) {
    hash ^= byte;
    hash *= 0x100000001b3ULL;
  }
  char digits[17];
  std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(hash));
  return digits;
}

}  // namespace qxbar
