#pragma once
// The timeline one pipeline flush would have with every stage on a processor of its own and
// free communication, rebuilt from each stage's measured forwards and backwards in the order it
// ran them: an op starts once its stage is free and its input exists, F(s, i) after F(s−1, i)
// and B(s, i) after B(s+1, i) (on the last stage after its own F(s, i), by the order). With
// equal stages, f per forward and b per backward, both schedules give a makespan of
// (m + p − 1)·(f + b) and the ideal bubble (p − 1)/(m + p − 1).
#include <vector>

#include <cstdint>

namespace ptuner::launch {

// One forward ('F') or backward ('B') of a micro-batch on a stage, in execution order, with its
// wall time and the process CPU time it used (with one intra-op thread and no other busy thread
// in the process, the compute time the rank would take on a core of its own, whatever else
// shares the machine).
struct StageOp {
  char kind = 'F';
  int64_t micro = 0;
  double wall_s = 0, cpu_s = 0;
};

struct ReplayResult {
  double makespan = 0;        // seconds from the first forward to the last op's end
  std::vector<double> busy;   // per stage: its ops' durations
  // Mean over stages of the idle share of the makespan.
  double bubble() const;
};

// stages[s]: stage s's ops in execution order, each micro-batch once forward and once backward;
// durations are the ops' cpu_s (use_cpu) or wall_s. Throws when the orders cannot all run (a
// schedule that would deadlock) or a stage lacks an op another needs.
ReplayResult replay_pipeline(const std::vector<std::vector<StageOp>>& stages, bool use_cpu = true);

// (p − 1)/(m + p − 1)
double ideal_bubble(int64_t stages, int64_t micro_batches);

}  // namespace ptuner::launch
