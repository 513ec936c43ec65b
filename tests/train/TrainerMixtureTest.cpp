// Training on a multi-task mixture ([[data.mixture]]): the run resumes bit for bit, the loader
// position in its checkpoint holds every source's position, and a one-task checkpoint does not
// resume a mixture run.
#include <gtest/gtest.h>

#include <fstream>

#include "dist/MpiCommunicator.h"
#include "tests/MpiSupport.h"
#include "tests/TestSupport.h"
#include "train/Trainer.h"

namespace ptuner::train {
namespace {

struct MixEnv {
  std::string root, model, a, b, dev;
};

const MixEnv& env() {
  static const MixEnv e = [] {
    MixEnv x;
    x.root = ptuner::testing::temp_dir("trainer-mixture");
    x.model = x.root + "/model";
    ptuner::testing::write_tiny_model(x.model, 1);
    x.a = x.root + "/a.jsonl";
    x.b = x.root + "/b.jsonl";
    x.dev = x.root + "/dev.jsonl";
    ptuner::testing::write_sentiment_jsonl(x.a, 40, 5);
    ptuner::testing::write_sentiment_jsonl(x.b, 200, 7);
    ptuner::testing::write_sentiment_jsonl(x.dev, 16, 6);
    return x;
  }();
  return e;
}

RunConfig config(const std::string& run, std::vector<std::string> extra = {}) {
  const auto& e = env();
  std::vector<std::string> o = {"model.path=\"" + e.model + "\"", "data.dev=\"" + e.dev + "\"",
                                "run.dir=\"" + e.root + "/" + run + "\""};
  o.insert(o.end(), extra.begin(), extra.end());
  return RunConfig::from_string(R"(
[data]
max_input_length = 32
max_target_length = 4
prefetch = 0
shuffle_buffer = 16
mixing = "temperature"
mixing_temperature = 2.0
[[data.mixture]]
task = "jsonl"
train = ")" + e.a + R"("
[[data.mixture]]
task = "jsonl"
train = ")" + e.b + R"("
[train]
steps = 10
batch_size = 8
log_every = 1
[prompt]
length = 6
)",
                                "mixture.toml", o);
}

dist::ParallelState& single() {
  static auto self = ptuner::testing::self();
  static dist::ParallelState ps(dist::Layout{}, self);
  return ps;
}

std::vector<double> losses(const std::string& run) {
  std::vector<double> out;
  std::ifstream in(env().root + "/" + run + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("last_loss")) out.push_back(j["last_loss"].get<double>());
  }
  return out;
}

TEST(TrainerMixture, ResumeContinuesBitForBit) {
  {
    Trainer whole(config("whole"), single());
    whole.run(false);
  }
  {
    Trainer first(config("split", {"train.steps=4"}), single());
    first.run(false);
    const auto ck = Checkpoint::load(first.last_checkpoint_path());
    EXPECT_EQ(ck.data_position.batches_in_epoch, 4);
    EXPECT_EQ(ck.data_position.sources.size(), 2u);
  }
  {
    Trainer second(config("split"), single());
    second.run(true);
  }
  const auto a = losses("whole"), b = losses("split");
  ASSERT_EQ(a.size(), 10u);
  ASSERT_EQ(b.size(), 10u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "step " << i + 1;
}

}  // namespace
}  // namespace ptuner::train
