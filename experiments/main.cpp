#include <malloc.h>

#include "experiments/cli.h"

int main(int argc, char** argv) {
  // LibTorch allocates activations of tens of MB per layer and batch. Above glibc's mmap threshold
  // (at most 32 MB by default) each is mapped, page-faulted and unmapped again, and a heap trimmed after
  // every free is grown again by the next batch: kernel time that made evaluating vgg-small 3x and its
  // integer-arithmetic evaluation 8x slower. Freed blocks stay on the heap for the next batch instead.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 1 << 30);
  return qxbar::cli::run(argc, argv);
}
