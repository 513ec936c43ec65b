#include "train/RunGuard.h"

#include <fcntl.h>
#include <fmt/ranges.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "dist/Check.h"
#include "train/ConfigKeys.h"

namespace ptuner::train {

namespace fs = std::filesystem;

RunDirLock::RunDirLock(const std::string& dir) {
  const std::string path = dir + "/.ptuner.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  PTUNER_CHECK(fd_ >= 0, "cannot open the run directory's lock {}: {}", path, std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    std::string holder;
    {
      std::ifstream in(path);
      std::getline(in, holder);
    }
    ::close(fd_);
    fd_ = -1;
    PTUNER_CHECK(err != EWOULDBLOCK, "run.dir {} is in use by {} (lock {})", dir,
                 holder.empty() ? "another run" : holder, path);
    PTUNER_FAIL("cannot lock the run directory {}: {}", path, std::strerror(err));
  }
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  const std::string me = fmt::format("pid {} on host {}", ::getpid(), host);
  if (::ftruncate(fd_, 0) == 0 && ::write(fd_, me.data(), me.size()) == static_cast<ssize_t>(me.size())) ::fsync(fd_);
}

RunDirLock::~RunDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

bool auto_resumes(const RunConfig& config, std::string& why) {
  const std::string last = config.run.dir + "/checkpoint-last.h5";
  if (config.train.auto_resume == "never" || !fs::exists(last)) return false;
  const char* job = std::getenv("SLURM_JOB_ID");
  if (config.train.auto_resume == "slurm") {
    if (job == nullptr || *job == '\0') return false;
    const char* restarts = std::getenv("SLURM_RESTART_COUNT");
    why = fmt::format("{} exists and train.auto_resume = \"slurm\" in Slurm job {} (restart {}): resuming", last,
                      job, restarts != nullptr ? restarts : "0");
    return true;
  }
  why = fmt::format("{} exists and train.auto_resume = \"always\": resuming", last);
  return true;
}

void fresh_run_check(const std::string& dir, bool overwrite) {
  std::vector<std::string> found;
  for (const char* name : {"checkpoint-last.h5", "checkpoint-best.h5"})
    if (fs::exists(dir + "/" + name)) found.push_back(name);
  const std::string metrics = dir + "/metrics.jsonl";
  if (fs::exists(metrics) && fs::file_size(metrics) > 0) found.push_back("metrics.jsonl");
  if (found.empty()) return;
  if (overwrite) {
    for (const auto& name : found) fs::remove(dir + "/" + name);
    return;
  }
  if (found.front() == "checkpoint-last.h5")
    PTUNER_FAIL("run.dir {} already holds a run ({}): pass --resume to continue it, --overwrite to start afresh, "
                "or choose another run.dir",
                dir, fmt::join(found, ", "));
  PTUNER_FAIL("run.dir {} already holds {} (no checkpoint-last.h5 to resume): pass --overwrite to start afresh, "
              "or choose another run.dir",
              dir, fmt::join(found, ", "));
}

std::vector<ConfigChange> resume_changes(const std::string& saved_toml, const RunConfig& now) {
  // Keys that give the saved state (prompt, optimizer slots, data position) its meaning.
  static const std::vector<std::string> kRefused = {
      "train.batch_size",   "train.seed",          "data.train",       "data.task",       "data.mixture",
      "data.shuffle_buffer", "data.bucket_by_length", "data.task_prefix", "data.mixing",    "data.mixing_cap",
      "data.mixing_temperature", "model.path",     "model.preset",     "model.seed",      "prompt.method",
      "prompt.length",      "optim.name",          "optim.factored",   "data.max_input_length",
      "data.max_target_length", "data.on_error"};
  std::vector<ConfigChange> out;
  if (saved_toml.empty()) return out;
  const auto saved = RunConfig::from_string(saved_toml, "the checkpoint's config", {}, /*validate=*/false);
  // A mixture's dev files, like data.dev, may change: its training part may not.
  auto training_part = [](RunConfig c) {
    for (auto& m : c.data.mixture) m.dev.clear();
    return c;
  };
  for (const auto& key : config_keys()) {
    const auto before = key.toml_value(saved), after = key.toml_value(now);
    if (before == after) continue;
    bool refused = std::find(kRefused.begin(), kRefused.end(), key.path()) != kRefused.end();
    if (key.path() == "data.mixture")
      refused = key.toml_value(training_part(saved)) != key.toml_value(training_part(now));
    out.push_back({key.path(), before, after, refused});
  }
  return out;
}

namespace stop_signal {

namespace {
std::atomic<int> received{0};
std::atomic<int64_t> first_at_ms{0};

int64_t now_ms() {  // clock_gettime is async-signal-safe
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

extern "C" void on_signal(int sig) {
  if (received.exchange(sig) == 0) {
    first_at_ms.store(now_ms());
    return;
  }
  // A second signal a second or more after the first: now (one delivered twice at once, by a
  // launcher and the process group, is the same request).
  if (now_ms() - first_at_ms.load() >= 1000) _exit(128 + sig);
}
}  // namespace

void install() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

int pending() { return received.load(); }
void clear() { received.store(0), first_at_ms.store(0); }
void raise_for_test(int signal) { received.store(signal); }

}  // namespace stop_signal

}  // namespace ptuner::train
