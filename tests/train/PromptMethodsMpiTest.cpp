// Every prompt method (shallow, residual, deep; deep also reparameterised in the decoder's self-
// and cross-attention) at the suite's (tp, pp, dp) layout against one rank: the loss of five
// steps, every trainable gradient of the first, the parameters after five; and checkpoints, which
// move between this layout and one rank bit for bit (parameters and optimizer state).
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/MpiSupport.h"
#include "tests/TestSupport.h"
#include "tests/train/LayoutRunConfig.h"
#include "train/Trainer.h"

namespace ptuner::train {
namespace {

using ptuner::testing::rel_diff;

struct Variant {
  std::string name;
  std::vector<std::string> sets;
};

std::vector<Variant> variants() {
  return {{"shallow", {}},
          {"residual", {"prompt.method=\"residual\"", "prompt.residual.bottleneck=8"}},
          {"residual_per_token", {"prompt.method=\"residual\"", "prompt.residual.bottleneck=4",
                                  "prompt.residual.shared=false"}},
          {"deep", {"prompt.method=\"deep\""}},
          {"deep_reparam_everywhere", {"prompt.method=\"deep\"", "prompt.deep.decoder=true", "prompt.deep.cross=true",
                                       "prompt.deep.reparam_hidden=8", "prompt.deep.lr=0.05"}}};
}

void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

class PromptMethods : public ::testing::TestWithParam<Variant> {
 public:
  static void SetUpTestSuite() {
    auto w = ptuner::testing::world();
    root_ = ptuner::testing::shared_dir("prompt-methods");
    if (w->rank() == 0) {
      ptuner::testing::write_tiny_model(root_ + "/model", 13);
      ptuner::testing::write_sentiment_jsonl(root_ + "/train.jsonl", 120, 7);
    }
    w->barrier();
  }
  static RunConfig config(const std::string& run, const dist::Layout& l, int steps) {
    return ptuner::testing::layout_run_config(root_, GetParam().name + "-" + run, l, steps, 24, 3, GetParam().sets);
  }
  static std::string root_;
};
std::string PromptMethods::root_;

TEST_P(PromptMethods, LossesGradientsAndParametersEqualOneRank) {
  auto w = ptuner::testing::world();
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, w);
  dist::ParallelState single(dist::Layout{}, ptuner::testing::self());
  Trainer parallel(config("par", layout, 5), ps);
  Trainer reference(config("ref-" + std::to_string(w->rank()), dist::Layout{}, 5), single);
  auto ref = reference.prompt().named_parameters();
  std::map<std::string, torch::Tensor> init;
  for (const auto& item : ref) init[item.key()] = item.value().detach().clone();
  for (int step = 0; step < 5; ++step) {
    auto a = reference.step(), b = parallel.step();
    // The first loss comes from the same parameters; later ones from parameters that agree within
    // the 1e-4 below (LibTorch 2.14's kernels put the deep reparameterised variant's fourth loss
    // 2.1e-5 apart at tp=2 dp=2).
    EXPECT_LT(std::abs(b.loss - a.loss) / a.loss, step == 0 ? 1e-5 : 1e-4) << "step " << step << " " << layout.str();
    if (step > 0) continue;
    // The first step's gradients (summed over TP, PP where shared, and DP) before any update.
    for (const auto& item : parallel.prompt().named_parameters())
      EXPECT_LT(rel_diff(item.value().grad(), ref[item.key()].grad()), 1e-5) << item.key() << " " << layout.str();
  }
  // Five steps on: every parameter this rank holds equals the one-rank run's and has trained.
  // (1e-4: Adafactor scales each element's update by its own gradient's RMS, so the last bits of
  // another summation order reach the parameter unscaled.)
  int owned = 0;
  for (const auto& item : parallel.prompt().named_parameters()) {
    ++owned;
    EXPECT_LT(rel_diff(item.value(), ref[item.key()]), 1e-4) << item.key() << " " << layout.str();
    EXPECT_GT((item.value() - init[item.key()]).abs().max().item<double>(), 1e-6) << item.key() << " did not train";
  }
  EXPECT_EQ(reference.prompt().named_parameters().size(), reference.prompt().global_shapes().size());
  // Every tensor lives on some stage; one every stage holds (pp_shared) is counted once.
  int shared = 0;
  for (const auto& [name, shape] : parallel.prompt().global_shapes()) shared += parallel.prompt().pp_shared(name);
  const double all = ps.pp().all_reduce_scalar(owned, dist::ReduceOp::Sum);
  EXPECT_EQ(static_cast<size_t>(all) - static_cast<size_t>(shared * (layout.pp - 1)),
            parallel.prompt().global_shapes().size());
}

TEST_P(PromptMethods, CheckpointsMoveBetweenThisLayoutAndOneRankBitForBit) {
  auto w = ptuner::testing::world();
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, w);
  dist::ParallelState single(dist::Layout{}, ptuner::testing::self());
  const std::string path = root_ + "/" + GetParam().name + "-ckpt/checkpoint-last.h5";
  Trainer parallel(config("ckpt", layout, 4), ps);
  for (int i = 0; i < 2; ++i) parallel.step();
  const auto saved = parallel.snapshot();
  if (ps.is_writer()) {
    std::filesystem::create_directories(root_ + "/" + GetParam().name + "-ckpt");
    saved.save(path);
  }
  w->barrier();
  const auto loaded = Checkpoint::load(path);
  ASSERT_EQ(loaded.params.size(), parallel.prompt().global_shapes().size());
  // Layout -> one rank: the restored state is the saved one, bit for bit.
  Trainer one(config("one-" + std::to_string(w->rank()), dist::Layout{}, 4), single);
  one.restore(loaded, path);
  const auto again = one.snapshot();
  for (const auto& [name, t] : loaded.params) EXPECT_TRUE(torch::equal(again.params.at(name), t)) << name;
  ASSERT_EQ(again.optimizer.size(), loaded.optimizer.size());
  for (const auto& [name, t] : loaded.optimizer) EXPECT_TRUE(torch::equal(again.optimizer.at(name), t)) << name;
  // One rank -> this layout: each rank keeps its stage's share, and the gathered state is again
  // the one-rank checkpoint's.
  one.step();
  const auto from_one = one.snapshot();
  Trainer back(config("back", layout, 4), ps);
  back.restore(from_one, "one-rank checkpoint");
  const auto gathered = back.snapshot();
  for (const auto& [name, t] : from_one.params) EXPECT_TRUE(torch::equal(gathered.params.at(name), t)) << name;
  for (const auto& [name, t] : from_one.optimizer)
    EXPECT_TRUE(torch::equal(gathered.optimizer.at(name), t)) << name;
  EXPECT_EQ(gathered.step, 3);
}

INSTANTIATE_TEST_SUITE_P(Methods, PromptMethods, ::testing::ValuesIn(variants()),
                         [](const ::testing::TestParamInfo<Variant>& i) { return i.param.name; });

}  // namespace
}  // namespace ptuner::train
