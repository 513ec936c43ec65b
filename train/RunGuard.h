#pragma once
// What keeps a run from losing or mixing work (train/Trainer.cpp uses them):
//   RunDirLock       an exclusive flock on <run.dir>/.ptuner.lock, holding "host pid"; a second run
//                    on the directory is refused, naming the holder. Held by the writing rank.
//   fresh_run_check  a fresh run refuses a directory that holds a checkpoint or a non-empty
//                    metrics.jsonl, naming them (with overwrite: they are removed first).
//   resume_changes   the keys whose value differs between a checkpoint's stored config and the
//                    resuming one; those that change what the saved state means are refused.
//   StopSignal       SIGTERM, SIGINT and SIGUSR1 set a flag the training loop polls at each step
//                    boundary (a second one exits at once, code 128 + signal).
#include <string>
#include <vector>

#include "train/RunConfig.h"

namespace ptuner::train {

class RunDirLock {
 public:
  explicit RunDirLock(const std::string& dir);
  ~RunDirLock();
  RunDirLock(const RunDirLock&) = delete;
  RunDirLock& operator=(const RunDirLock&) = delete;

 private:
  int fd_ = -1;
};

void fresh_run_check(const std::string& dir, bool overwrite);

// Whether a run started without --resume continues from run.dir/checkpoint-last.h5: the file
// exists and train.auto_resume is "always", or "slurm" inside a Slurm job (SLURM_JOB_ID set:
// a requeued job then resumes by itself). `why` says so, for the log.
bool auto_resumes(const RunConfig& config, std::string& why);

struct ConfigChange {
  std::string key, before, after;  // TOML values
  bool refused;                    // it changes what the checkpoint's state means
};
std::vector<ConfigChange> resume_changes(const std::string& saved_toml, const RunConfig& now);

// The exit code of a run stopped by a signal after writing checkpoint-last.h5 (resumable):
// EX_TEMPFAIL.
constexpr int kStoppedExitCode = 75;

namespace stop_signal {
void install();    // SIGTERM, SIGINT, SIGUSR1
int pending();     // the signal received (0: none)
void clear();
void raise_for_test(int signal);  // as if `signal` had arrived
}  // namespace stop_signal

}  // namespace ptuner::train
