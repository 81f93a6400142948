#pragma once

#include <functional>
#include <string>

namespace qxbar {

// Writes the whole file or nothing: `write` fills a temporary file beside the target, which is then renamed
// over it, so a killed run never leaves a half-written output and a failed write leaves the target as it
// was and no temporary behind (the failure becomes a DataError naming the target). A symbolic link is
// followed, so the link stays and its target changes; a target that is not a regular file (a character
// device such as /dev/null, a FIFO) is written in place, since renaming over it would destroy it; a
// directory, and a file this process has read as an input, are refused.
void write_file_atomically(const std::string& path, const std::function<void(const std::string& temporary)>& write);
// Bytes a regular file already holds exactly are not written again: the file, its time stamps and any
// input it is are left as they are (a run resumed from its own recipe.yaml rewrites nothing).
void write_file_atomically(const std::string& path, const std::string& bytes);

// Records that this process reads `path` as an input, so that no output replaces it: `qxbar eval --ckpt
// m.pt --json m.pt` must not overwrite the checkpoint. Files are told apart by identity (device and inode),
// so another spelling of the same path, or a hard link, is caught too. Does nothing for a missing file.
void note_input_file(const std::string& path);

}  // namespace qxbar
