#include "launch/PipelineReplay.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "dist/Check.h"

namespace ptuner::launch {

double ReplayResult::bubble() const {
  if (busy.empty() || makespan <= 0) return 0;
  double idle = 0;
  for (double b : busy) idle += (makespan - b) / makespan;
  return idle / static_cast<double>(busy.size());
}

double ideal_bubble(int64_t p, int64_t m) { return static_cast<double>(p - 1) / static_cast<double>(m + p - 1); }

ReplayResult replay_pipeline(const std::vector<std::vector<StageOp>>& stages, bool use_cpu) {
  const size_t p = stages.size();
  std::vector<std::map<int64_t, double>> f_end(p), b_end(p);
  std::vector<size_t> next(p, 0);
  std::vector<double> free_at(p, 0);
  ReplayResult r;
  r.busy.assign(p, 0);
  size_t remaining = 0;
  for (const auto& s : stages) remaining += s.size();
  while (remaining > 0) {
    bool progressed = false;
    for (size_t s = 0; s < p; ++s) {
      while (next[s] < stages[s].size()) {
        const auto& op = stages[s][next[s]];
        PTUNER_CHECK(op.kind == 'F' || op.kind == 'B', "pipeline replay: stage {} op {} has kind '{}'", s, next[s],
                     op.kind);
        double ready = 0;
        if (op.kind == 'F' && s > 0) {
          auto it = f_end[s - 1].find(op.micro);
          if (it == f_end[s - 1].end()) break;
          ready = it->second;
        } else if (op.kind == 'B' && s + 1 < p) {
          auto it = b_end[s + 1].find(op.micro);
          if (it == b_end[s + 1].end()) break;
          ready = it->second;
        }
        const double d = use_cpu ? op.cpu_s : op.wall_s;
        const double end = std::max(free_at[s], ready) + d;
        (op.kind == 'F' ? f_end : b_end)[s][op.micro] = end;
        free_at[s] = end;
        r.busy[s] += d;
        r.makespan = std::max(r.makespan, end);
        ++next[s];
        --remaining;
        progressed = true;
      }
    }
    PTUNER_CHECK(progressed, "pipeline replay: the stages' op orders wait on each other ({} ops cannot run)",
                 remaining);
  }
  return r;
}

}  // namespace ptuner::launch
