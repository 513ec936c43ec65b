#pragma once
// The single-rank training tests' setting: the tiny HF-format model (and a second one, another
// frozen model), 256 training and 24 dev sentiment examples, and a run config with short
// sequences (32 input, 4 target tokens), batch 8, a 6-token prompt and no prefetch, under
// run.dir = <root>/<run>, plus `extra` overrides. One setting per test executable.
#include <string>
#include <vector>

#include "dist/ParallelState.h"
#include "tests/MpiSupport.h"
#include "tests/TestSupport.h"
#include "train/RunConfig.h"

namespace ptuner::testing {

struct TinyTrainerEnv {
  std::string root, model, other_model, train, dev;
};

inline const TinyTrainerEnv& tiny_trainer_env() {
  static const TinyTrainerEnv e = [] {
    TinyTrainerEnv x;
    x.root = temp_dir("trainer");
    x.model = x.root + "/model";
    x.other_model = x.root + "/other";
    write_tiny_model(x.model, 1);
    write_tiny_model(x.other_model, 2);
    x.train = x.root + "/train.jsonl";
    x.dev = x.root + "/dev.jsonl";
    write_sentiment_jsonl(x.train, 256, 5);
    write_sentiment_jsonl(x.dev, 24, 6);
    return x;
  }();
  return e;
}

inline train::RunConfig tiny_trainer_config(const std::string& run, std::vector<std::string> extra = {}) {
  const auto& e = tiny_trainer_env();
  std::vector<std::string> o = {"model.path=\"" + e.model + "\"", "data.train=\"" + e.train + "\"",
                                "data.dev=\"" + e.dev + "\"", "run.dir=\"" + e.root + "/" + run + "\""};
  o.insert(o.end(), extra.begin(), extra.end());
  return train::RunConfig::from_string(R"(
[data]
max_input_length = 32
max_target_length = 4
prefetch = 0
[train]
steps = 8
batch_size = 8
log_every = 1
[prompt]
length = 6
)",
                                       "test.toml", o);
}

// Layout tp = pp = dp = 1 over this process alone.
inline dist::ParallelState& single_rank() {
  static auto self = ptuner::testing::self();
  static dist::ParallelState ps(dist::Layout{}, self);
  return ps;
}

}  // namespace ptuner::testing
