#pragma once

#include <cstdint>
#include <string>

#include "sim/core/errors.h"

namespace qxbar {

// A count that cannot be represented: an error naming what was counted, never a wrapped number.
class CountOverflow : public ConfigError {
 public:
  using ConfigError::ConfigError;
};

inline std::int64_t checked_multiply(std::int64_t a, std::int64_t b, const std::string& what) {
  std::int64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) {
    throw CountOverflow(what + ": " + std::to_string(a) + " x " + std::to_string(b) + " does not fit a 64-bit count");
  }
  return product;
}

inline std::int64_t checked_add(std::int64_t a, std::int64_t b, const std::string& what) {
  std::int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) {
    throw CountOverflow(what + ": " + std::to_string(a) + " + " + std::to_string(b) + " does not fit a 64-bit count");
  }
  return sum;
}

}  // namespace qxbar
