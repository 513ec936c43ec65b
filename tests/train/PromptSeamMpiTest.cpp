// The prompt seam at every (tp, pp, dp) layout, through a prompt method written for this test
// only (one class, registered by name): two soft prompts chosen per row by the micro-batch's
// prompt ids, plus key/value prefixes in the self-attention of every block and the
// cross-attention of every decoder block, each owned by the stage holding its block and split
// by heads under TP. Against the same training on one rank: losses, every stage's parameters,
// the checkpoint that gathers them and a resume from it. And the RNG policy: TP ranks share
// generator states, DP replicas do not, and a resume at the layout with dropout is exact.
#include <gtest/gtest.h>

#include <filesystem>

#include "model_parallel/RngState.h"
#include "tests/MpiSupport.h"
#include "tests/TestSupport.h"
#include "tests/train/LayoutRunConfig.h"
#include "train/PromptMethod.h"
#include "train/RunConfig.h"
#include "train/Trainer.h"

namespace ptuner::train {
namespace {

using ptuner::testing::rel_diff;

constexpr int64_t kPrefixRows = 2;  // key/value rows per block

class TwoPromptsAndPrefixes : public PromptMethod {
 public:
  explicit TwoPromptsAndPrefixes(const PromptMethodArgs& a)
      : p_(a.config.prompt.length), d_(a.model.d_model), heads_(a.model.num_heads), d_kv_(a.model.d_kv),
        layers_(a.model.num_layers), blocks_(a.model.num_layers + a.model.num_decoder_layers), place_(a.place) {
    // Values depend on the name only (the same at every layout): a generator per tensor.
    uint64_t seed = a.config.train.seed;
    for (const auto& [name, shape] : global_shapes()) {
      ++seed;
      if (!owns(name)) continue;
      auto gen = at::detail::createCPUGenerator(seed);
      params_[name] = register_parameter(name, torch::randn(shape, gen) * 0.5);
    }
  }
  std::string method() const override { return "test-two-prompts-and-prefixes"; }
  nlohmann::json hyper_parameters() const override { return {{"length", p_}, {"prefix_rows", kPrefixRows}}; }
  int64_t prefix_length() const override { return p_; }
  std::map<std::string, std::vector<int64_t>> global_shapes() const override {
    std::map<std::string, std::vector<int64_t>> s{{"prompts", {2, p_, d_}}};
    for (int64_t b = 0; b < blocks_; ++b)
      for (const char* kind : {"self", "cross"}) {
        if (std::string(kind) == "cross" && b < layers_) continue;  // encoder blocks have no cross-attention
        for (const char* kv : {"key", "value"}) s[name(b, kind, kv)] = {heads_, kPrefixRows, d_kv_};
      }
    return s;
  }
  bool tp_partial(const std::string& n) const override { return n != "prompts"; }
  mp::PromptInjection injection(const mp::MicroBatch& mb) override {
    mp::PromptInjection inj;
    if (place_.holds_embedding) {
      auto ids = mb.prompt_ids.defined() ? mb.prompt_ids : torch::zeros({mb.input_ids.size(0)}, torch::kLong);
      inj.encoder_prefix = params_.at("prompts").index_select(0, ids);  // [B, p, d]: a prompt per row
    }
    const int64_t local = heads_ / place_.tp_size;
    auto mine = [&](const std::string& n) {  // this TP rank's heads: [1, heads/tp, rows, d_kv]
      return params_.at(n).narrow(0, place_.tp_rank * local, local).unsqueeze(0);
    };
    for (int64_t b = place_.first_block; b < place_.end_block; ++b) {
      inj.self_kv[b] = {mine(name(b, "self", "key")), mine(name(b, "self", "value"))};
      if (b >= layers_) inj.cross_kv[b] = {mine(name(b, "cross", "key")), mine(name(b, "cross", "value"))};
    }
    return inj;
  }

 private:
  static std::string name(int64_t block, const char* kind, const char* kv) {
    return "block" + std::to_string(block) + "_" + kind + "_" + kv;
  }
  bool owns(const std::string& n) const {
    if (n == "prompts") return place_.holds_embedding;
    const int64_t b = std::stoll(n.substr(5, n.find('_') - 5));
    return place_.first_block <= b && b < place_.end_block;
  }
  int64_t p_, d_, heads_, d_kv_, layers_, blocks_;
  PromptPlace place_;
  std::map<std::string, torch::Tensor> params_;
};

struct PromptSeam : ::testing::Test {
  static void SetUpTestSuite() {
    register_prompt_method("test-two-prompts-and-prefixes",
                           [](const PromptMethodArgs& a) { return std::make_shared<TwoPromptsAndPrefixes>(a); });
    auto w = ptuner::testing::world();
    root_ = ptuner::testing::shared_dir("prompt-seam");
    if (w->rank() == 0) {
      ptuner::testing::write_tiny_model(root_ + "/model", 11);
      ptuner::testing::write_sentiment_jsonl(root_ + "/train.jsonl", 120, 5);
    }
    w->barrier();
  }
  static RunConfig config(const std::string& run, const dist::Layout& l, int steps, const std::string& method,
                          double dropout = 0.0) {
    return ptuner::testing::layout_run_config(root_, run, l, steps, 24, 3,
                                              {"prompt.method=\"" + method + "\"",
                                               "model.dropout_rate=" + std::to_string(dropout)});
  }
  // The next batch with each row's prompt chosen by its example's index (layout-independent).
  static StepResult step_with_two_prompts(Trainer& t) {
    auto b = t.next_batch();
    b.sources.clear();
    for (auto i : b.indices) b.sources.push_back(i % 2);
    return t.step(b);
  }
  static std::string root_;
};
std::string PromptSeam::root_;

constexpr const char* kMethod = "test-two-prompts-and-prefixes";

TEST_F(PromptSeam, EveryStagesPrefixesTrainAsOnOneRank) {
  auto w = ptuner::testing::world();
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, w);
  dist::ParallelState single(dist::Layout{}, ptuner::testing::self());
  Trainer parallel(config("seam-par", layout, 3, kMethod), ps);
  Trainer reference(config("seam-ref-" + std::to_string(w->rank()), dist::Layout{}, 3, kMethod), single);
  EXPECT_EQ(reference.prompt().named_parameters().size(), reference.prompt().global_shapes().size());
  for (int step = 0; step < 3; ++step) {
    auto a = step_with_two_prompts(reference), b = step_with_two_prompts(parallel);
    EXPECT_LT(std::abs(b.loss - a.loss) / a.loss, 1e-5) << "step " << step << " " << layout.str();
  }
  // Every parameter this rank owns (its stage's blocks, its TP rank holds all heads) equals the
  // one-rank run's, and moved from its initial value. Tolerance 1e-4, not the losses' 1e-5:
  // Adafactor divides each element's update by its own gradient's RMS, so the last bits that
  // another order of TP/DP sums leaves in a small gradient reach the parameter unscaled.
  auto ref = reference.prompt().named_parameters();
  Trainer fresh(config("seam-fresh-" + std::to_string(w->rank()), dist::Layout{}, 3, kMethod), single);
  auto init = fresh.prompt().named_parameters();
  int owned = 0;
  for (const auto& item : parallel.prompt().named_parameters()) {
    ++owned;
    EXPECT_LT(rel_diff(item.value(), ref[item.key()]), 1e-4) << item.key() << " " << layout.str();
    EXPECT_GT((item.value() - init[item.key()]).abs().max().item<double>(), 1e-4) << item.key() << " did not train";
  }
  // Each block's prefixes live on exactly one stage: the stages' counts add up to the method's.
  const double all = ps.pp().all_reduce_scalar(owned, dist::ReduceOp::Sum);
  EXPECT_EQ(static_cast<size_t>(all), parallel.prompt().global_shapes().size());
}

TEST_F(PromptSeam, TheCheckpointGathersEveryStageAndResumesOnOneRank) {
  auto w = ptuner::testing::world();
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, w);
  const std::string path = root_ + "/seam-ckpt/checkpoint-last.h5";
  Trainer parallel(config("seam-ckpt", layout, 2, kMethod), ps);
  for (int i = 0; i < 2; ++i) step_with_two_prompts(parallel);
  if (ps.is_writer()) std::filesystem::create_directories(root_ + "/seam-ckpt");
  const auto ck = parallel.snapshot();
  if (ps.is_writer()) ck.save(path);
  w->barrier();
  auto loaded = Checkpoint::load(path);
  ASSERT_EQ(loaded.params.size(), parallel.prompt().global_shapes().size());
  for (const auto& item : parallel.prompt().named_parameters())
    EXPECT_TRUE(torch::equal(loaded.params.at(item.key()), item.value().detach().cpu())) << item.key();
  // Optimizer slots of every stage's parameters, and the step.
  EXPECT_EQ(loaded.optimizer.count("step"), 1u);
  for (const auto& [name, shape] : parallel.prompt().global_shapes())
    EXPECT_TRUE(loaded.optimizer.count(name + "/v")) << name;
  // On one rank: resume and continue, as a run that never stopped.
  dist::ParallelState single(dist::Layout{}, ptuner::testing::self());
  Trainer resumed(config("seam-resumed-" + std::to_string(w->rank()), dist::Layout{}, 4, kMethod), single);
  Trainer straight(config("seam-straight-" + std::to_string(w->rank()), dist::Layout{}, 4, kMethod), single);
  resumed.restore(loaded, path);
  for (int i = 0; i < 2; ++i) step_with_two_prompts(straight);
  for (int i = 0; i < 2; ++i) {
    auto a = step_with_two_prompts(straight), b = step_with_two_prompts(resumed);
    EXPECT_LT(std::abs(b.loss - a.loss) / a.loss, 1e-5) << "step " << 2 + i;
  }
  auto s = straight.prompt().named_parameters();
  for (const auto& item : resumed.prompt().named_parameters())  // 1e-4: as in the test above
    EXPECT_LT(rel_diff(item.value(), s[item.key()]), 1e-4) << item.key();
}

TEST_F(PromptSeam, TpRanksShareGeneratorStatesAndDpReplicasDoNot) {
  auto w = ptuner::testing::world();
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, w);
  Trainer t(config("seam-rng", layout, 1, "shallow", 0.1), ps);
  auto mine = mp::cpu_rng_state().unsqueeze(0);
  auto all = w->all_gather(mine);
  for (int r = 0; r < w->size(); ++r) {
    const auto a = dist::Coordinates::of(layout, r), b = ps.coords();
    const bool same_replica_and_stage = a.pp_idx == b.pp_idx && a.dp_idx == b.dp_idx;
    EXPECT_EQ(torch::equal(all[r], mine[0]), same_replica_and_stage) << "rank " << r << " vs " << w->rank();
  }
  // World rank 0 keeps train.seed itself: one rank draws what it always drew.
  if (w->rank() == 0) {
    torch::manual_seed(0);
    EXPECT_TRUE(torch::equal(mp::cpu_rng_state(), mine[0]));
  }
}

TEST_F(PromptSeam, ResumeWithDropoutIsExactAtTheLayout) {
  auto w = ptuner::testing::world();
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, w);
  Trainer straight(config("seam-drop-straight", layout, 4, kMethod, 0.1), ps);
  std::vector<double> losses;
  for (int i = 0; i < 4; ++i) losses.push_back(step_with_two_prompts(straight).loss);
  Checkpoint ck;
  {
    Trainer first(config("seam-drop-first", layout, 4, kMethod, 0.1), ps);
    for (int i = 0; i < 2; ++i) EXPECT_EQ(step_with_two_prompts(first).loss, losses[i]);
    ck = first.snapshot();
    torch::rand({1000});  // draws that must not leak into the resumed run
  }
  Trainer resumed(config("seam-drop-resumed", layout, 4, kMethod, 0.1), ps);
  resumed.restore(ck, "in-memory checkpoint");
  for (int i = 2; i < 4; ++i) EXPECT_EQ(step_with_two_prompts(resumed).loss, losses[i]) << "step " << i;
  auto s = straight.prompt().named_parameters();
  for (const auto& item : resumed.prompt().named_parameters())
    EXPECT_TRUE(torch::equal(item.value(), s[item.key()])) << item.key();
}

}  // namespace
}  // namespace ptuner::train
