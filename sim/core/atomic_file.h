#pragma once

#include <string>

namespace qxbar {

// Writes the whole file or nothing: the bytes go to a temporary file beside the target, which is
// flushed and then renamed over it, so a killed run never leaves a half-written output.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace qxbar
