// The training loop on a tiny HF-format model: loss falls, checkpoints hold only prompt state,
// a resumed run continues bit for bit, and a prompt does not load into another model.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "dist/Check.h"
#include "dist/MpiCommunicator.h"
#include "tests/MpiSupport.h"
#include "tests/TestSupport.h"
#include "tests/train/TinyTrainerRun.h"
#include "train/Trainer.h"

namespace ptuner::train {
namespace {

namespace fs = std::filesystem;

const ptuner::testing::TinyTrainerEnv& env() { return ptuner::testing::tiny_trainer_env(); }

RunConfig config(const std::string& run, std::vector<std::string> extra = {}) {
  return ptuner::testing::tiny_trainer_config(run, std::move(extra));
}

dist::ParallelState& single() { return ptuner::testing::single_rank(); }

std::vector<nlohmann::json> metrics(const std::string& run) {
  std::vector<nlohmann::json> out;
  std::ifstream in(env().root + "/" + run + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) out.push_back(j);
  }
  return out;
}

TEST(Trainer, LossFallsAndTheCheckpointHoldsOnlyPromptState) {
  auto c = config("falls", {"train.steps=30"});
  Trainer t(c, single());
  t.run(false);
  auto m = metrics("falls");
  ASSERT_EQ(m.size(), 30u);
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) first += m[i]["loss"].get<double>(), last += m[25 + i]["loss"].get<double>();
  EXPECT_LT(last, 0.5 * first) << "first five " << first / 5 << ", last five " << last / 5;
  auto ck = Checkpoint::load(t.last_checkpoint_path());
  ASSERT_EQ(ck.params.size(), 1u);
  EXPECT_EQ(ck.params.at("embedding").sizes(), torch::IntArrayRef({6, 64}));
  EXPECT_LT(fs::file_size(t.last_checkpoint_path()), 100u * 1024);
  EXPECT_EQ(ck.step, 30);
}

TEST(Trainer, ResumeContinuesBitForBit) {
  {
    Trainer whole(config("whole"), single());
    whole.run(false);
  }
  {
    Trainer first(config("split", {"train.steps=3"}), single());
    first.run(false);
  }
  {
    Trainer second(config("split"), single());
    second.run(true);
  }
  auto a = metrics("whole"), b = metrics("split");
  ASSERT_EQ(a.size(), 8u);
  ASSERT_EQ(b.size(), 8u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["step"], b[i]["step"]);
    // Bitwise: the doubles written by the same computation must be identical.
    EXPECT_EQ(a[i]["last_loss"].get<double>(), b[i]["last_loss"].get<double>()) << "step " << a[i]["step"];
  }
  auto ca = Checkpoint::load(env().root + "/whole/checkpoint-last.h5");
  auto cb = Checkpoint::load(env().root + "/split/checkpoint-last.h5");
  EXPECT_TRUE(torch::equal(ca.params.at("embedding"), cb.params.at("embedding")));
  EXPECT_TRUE(torch::equal(ca.optimizer.at("embedding/v"), cb.optimizer.at("embedding/v")));
}

TEST(Trainer, AnUnknownPromptMethodIsRefusedListingTheKnownOnes) {
  try {
    Trainer t(config("no-method", {"prompt.method=prefix"}), single());
    FAIL() << "built a trainer with an unknown prompt method";
  } catch (const ptuner::Error& e) {
    EXPECT_STREQ(e.what(), "test.toml: prompt.method 'prefix' is not one of: deep, residual, shallow");
  }
}

TEST(Trainer, RefusesToOverwriteOrResumeNothing) {
  Trainer t(config("guard", {"train.steps=1"}), single());
  t.run(false);
  Trainer again(config("guard", {"train.steps=1"}), single());
  EXPECT_THROW(again.run(false), ptuner::Error);
  Trainer fresh(config("nothing-to-resume", {"train.steps=1"}), single());
  try {
    fresh.run(true);
    FAIL();
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find("nothing to resume"), std::string::npos) << e.what();
  }
}

TEST(Trainer, PromptDoesNotLoadIntoAnotherModel) {
  Trainer t(config("wrong-model", {"train.steps=1"}), single());
  t.run(false);
  const auto path = t.last_checkpoint_path();
  auto other = config("wrong-model-2", {"model.path=\"" + env().other_model + "\""});
  Trainer u(other, single());
  try {
    u.restore(Checkpoint::load(path), path);
    FAIL() << "a prompt for model 1 loaded into model 2";
  } catch (const ptuner::Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("different frozen model"), std::string::npos) << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
  }
}

TEST(Trainer, RecomputationGivesTheSameNumbers) {
  // With dropout on, so that the replayed RNG state matters.
  Trainer plain(config("recompute-off", {"model.dropout_rate=0.1"}), single());
  Trainer again(config("recompute-on", {"model.dropout_rate=0.1", "train.recompute=true"}), single());
  for (int i = 0; i < 3; ++i) {
    torch::manual_seed(100 + i);
    auto a = plain.step();
    torch::manual_seed(100 + i);
    auto b = again.step();
    EXPECT_LT(std::abs(b.loss - a.loss) / a.loss, 1e-5) << "step " << i;
  }
  // The recomputed backward sums gradient contributions in another order: equal to rounding.
  auto pa = plain.prompt().named_parameters()["embedding"], pb = again.prompt().named_parameters()["embedding"];
  const double diff = ((pa - pb).abs().max() / pa.abs().max()).item<double>();
  EXPECT_LT(diff, 1e-5);
  RecordProperty("prompt_relative_difference", std::to_string(diff));
}

TEST(Trainer, GradientAccumulationEqualsTheWholeBatch) {
  // 8 examples in one micro-batch vs 4 micro-batches of 2: same update up to summation order.
  Trainer a(config("accum-1"), single());
  Trainer b(config("accum-4", {"train.grad_accum=4"}), single());
  auto ra = a.step(), rb = b.step();
  EXPECT_NEAR(ra.loss, rb.loss, 1e-5 * std::abs(ra.loss));
  auto pa = a.prompt().named_parameters()["embedding"], pb = b.prompt().named_parameters()["embedding"];
  EXPECT_TRUE(torch::allclose(pa, pb, 1e-5, 1e-6));
}

TEST(Trainer, Bfloat16FrozenModelKeepsTheLossAndAnFp32Prompt) {
  // The same batches through the fp32 model and its bf16 copy: bf16 weights and matmuls, the
  // prompt and the optimizer state in fp32 (cast to bf16 where the prompt enters the encoder).
  Trainer fp32(config("dtype-fp32"), single());
  Trainer bf16(config("dtype-bf16", {"model.dtype=\"bfloat16\""}), single());
  const auto weight = bf16.frozen().model->named_parameters(/*recurse=*/true);
  ASSERT_FALSE(weight.is_empty());
  for (const auto& w : weight) EXPECT_EQ(w.value().scalar_type(), torch::kBFloat16) << w.key();
  double worst = 0;
  for (int i = 0; i < 4; ++i) {
    const auto batch = fp32.next_batch();
    const double a = fp32.step(batch).loss, b = bf16.step(batch).loss;
    ASSERT_TRUE(std::isfinite(b)) << "step " << i;
    worst = std::max(worst, std::abs(b - a) / a);
  }
  EXPECT_LT(worst, 2e-2);
  RecordProperty("bf16_worst_relative_loss_difference", std::to_string(worst));
  for (const auto& p : bf16.prompt().named_parameters()) EXPECT_EQ(p.value().scalar_type(), torch::kFloat32) << p.key();
  const auto state = bf16.optimizer().state();
  ASSERT_FALSE(state.empty());
  for (const auto& [name, t] : state) {  // moments in fp32 (a step counter is an integer)
    if (t.is_floating_point()) {
      EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;
    }
  }
  // The bf16 run's prompt moved as the fp32 run's did (same batches, same updates to rounding).
  const auto pa = fp32.prompt().named_parameters()["embedding"], pb = bf16.prompt().named_parameters()["embedding"];
  const auto init = Trainer(config("dtype-init"), single()).prompt().named_parameters()["embedding"];
  const double cosine = torch::cosine_similarity((pa - init).flatten(), (pb - init).flatten(), 0).item<double>();
  EXPECT_GT(cosine, 0.9);
  RecordProperty("bf16_update_cosine", std::to_string(cosine));
}

}  // namespace
}  // namespace ptuner::train
