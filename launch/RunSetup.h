#pragma once
// What `train` and `eval` share: the config with its overrides, the parallel layout over
// MPI_COMM_WORLD (refused before any work when it does not fit), and rank-tagged logging.
#include <CLI/CLI.hpp>

#include <memory>
#include <string>
#include <vector>

#include "dist/ParallelState.h"
#include "train/RunConfig.h"

namespace ptuner::launch {

struct RunArgs {
  std::string config;
  std::vector<std::string> overrides;
  void add_to(CLI::App& app);
};

struct RunSetup {
  train::RunConfig config;
  std::unique_ptr<dist::ParallelState> ps;
};

RunSetup setup_run(const RunArgs& args);

}  // namespace ptuner::launch
