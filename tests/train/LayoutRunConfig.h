#pragma once
// The run config of the MPI training tests: the tiny model and train.jsonl under `root`, batch 8,
// no prefetch, at a layout (at pp > 1, 8/dp micro-batches: one row each), plus `extra` overrides.
#include <string>
#include <vector>

#include "dist/ParallelState.h"
#include "train/RunConfig.h"

namespace ptuner::testing {

inline train::RunConfig layout_run_config(const std::string& root, const std::string& run, const dist::Layout& l,
                                          int steps, int64_t max_input_length, int64_t prompt_length,
                                          std::vector<std::string> extra = {}) {
  std::vector<std::string> sets = {"model.path=\"" + root + "/model\"", "data.train=\"" + root + "/train.jsonl\"",
                                   "run.dir=\"" + root + "/" + run + "\"", "train.steps=" + std::to_string(steps),
                                   "parallel.tp=" + std::to_string(l.tp), "parallel.dp=" + std::to_string(l.dp),
                                   "parallel.pp=" + std::to_string(l.pp),
                                   "parallel.micro_batches=" + std::to_string(l.pp > 1 ? 8 / l.dp : 1),
                                   "data.max_input_length=" + std::to_string(max_input_length),
                                   "prompt.length=" + std::to_string(prompt_length)};
  sets.insert(sets.end(), extra.begin(), extra.end());
  return train::RunConfig::from_string(R"(
[data]
max_target_length = 4
prefetch = 0
[train]
batch_size = 8
log_every = 1
)",
                                       "test.toml", sets);
}

}  // namespace ptuner::testing
