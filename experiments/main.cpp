#include "experiments/cli.h"

int main(int argc, char** argv) { return qxbar::cli::run(argc, argv); }
