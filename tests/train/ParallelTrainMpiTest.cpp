// Training at a (tp, pp, dp) layout against the same training on one rank: one step's loss and prompt
// gradient within 1e-5 relative, five-step trajectories, the prompt bitwise identical on every
// rank, evaluation through the pipeline, and a checkpoint written at the layout resuming and
// evaluating at tp = pp = dp = 1. The one-rank references run on world rank 0 alone; every rank
// compares against what rank 0 broadcasts.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tests/MpiSupport.h"
#include "tests/TestSupport.h"
#include "tests/train/LayoutRunConfig.h"
#include "train/Evaluator.h"
#include "train/Trainer.h"

namespace ptuner::train {
namespace {

using ptuner::testing::rel_diff;

struct ParallelTrain : ::testing::Test {
  static void SetUpTestSuite() {
    auto w = ptuner::testing::world();
    root_ = ptuner::testing::shared_dir("parallel-train");
    if (w->rank() == 0) {
      ptuner::testing::write_tiny_model(root_ + "/model", 7);
      ptuner::testing::write_sentiment_jsonl(root_ + "/train.jsonl", 200, 3);
      ptuner::testing::write_sentiment_jsonl(root_ + "/dev.jsonl", 13, 4);
    }
    w->barrier();
  }
  RunConfig config(const std::string& run, const dist::Layout& l, int steps) {
    return ptuner::testing::layout_run_config(root_, run, l, steps, 32, 5, {"parallel.schedule=" + schedule_});
  }
  // The prompt where this rank's stage holds it; elsewhere (no parameter there) zeros of its shape.
  static torch::Tensor embedding(Trainer& t) {
    auto params = t.prompt().named_parameters();
    if (params.contains("embedding")) return params["embedding"];
    return torch::zeros(t.prompt().global_shapes().at("embedding"));
  }
  // Ranks of the first pipeline stage hold the prompt; checks on it run there.
  static bool owns_prompt(const dist::ParallelState& ps) { return ps.is_first_stage(); }
  // The prompt on every prompt-owning rank equals this rank's (gathered over the world).
  static void expect_same_prompt_everywhere(Trainer& t, const dist::ParallelState& ps) {
    auto w = ptuner::testing::world();
    auto mine = embedding(t).detach().contiguous();
    auto all = w->all_gather(mine.unsqueeze(0));
    const auto l = ps.layout();
    for (int r = 0; r < w->size(); ++r)
      if (dist::Coordinates::of(l, r).pp_idx == 0 && owns_prompt(ps)) {
        EXPECT_TRUE(torch::equal(all[r], mine)) << "rank " << r;
      }
  }
  static bool is_rank0() { return ptuner::testing::world()->rank() == 0; }
  // Tensors made on world rank 0 (ignored elsewhere), bit for bit the same on every rank afterwards.
  static std::vector<torch::Tensor> from_rank0(const std::vector<torch::Tensor>& made) {
    std::string bytes;
    if (is_rank0()) {
      std::ostringstream out;
      torch::save(made, out);
      bytes = out.str();
    }
    ptuner::testing::world()->broadcast_bytes(bytes, 0);
    std::vector<torch::Tensor> got;
    std::istringstream in(bytes);
    torch::load(got, in);
    return got;
  }
  // An evaluation made on world rank 0, the same on every rank afterwards (metrics bit for bit).
  static EvalResult from_rank0(const EvalResult& made) {
    std::string bytes;
    if (is_rank0()) {
      nlohmann::json j;
      j["predictions"] = made.predictions;
      j["metrics"] = nlohmann::json::object();
      for (const auto& [name, value] : made.metrics) {
        uint64_t bits;
        std::memcpy(&bits, &value, sizeof bits);
        j["metrics"][name] = bits;
      }
      bytes = j.dump();
    }
    ptuner::testing::world()->broadcast_bytes(bytes, 0);
    const auto j = nlohmann::json::parse(bytes);
    EvalResult r;
    r.predictions = j["predictions"].get<std::vector<std::string>>();
    for (const auto& [name, bits] : j["metrics"].items()) {
      const uint64_t b = bits.get<uint64_t>();
      double value;
      std::memcpy(&value, &b, sizeof value);
      r.metrics[name] = value;
    }
    return r;
  }
  // Per-step losses and target-token counts of a run made on world rank 0, on every rank.
  struct Steps {
    std::vector<double> loss;
    std::vector<int64_t> target_tokens;
  };
  static Steps from_rank0(const std::vector<StepResult>& made, int64_t steps) {
    auto loss = torch::zeros({steps}, torch::kFloat64);
    auto tokens = torch::zeros({steps}, torch::kInt64);
    for (size_t i = 0; i < made.size(); ++i) loss[i] = made[i].loss, tokens[i] = made[i].target_tokens;
    auto got = from_rank0({loss, tokens});
    Steps s;
    for (int64_t i = 0; i < steps; ++i)
      s.loss.push_back(got[0][i].item<double>()), s.target_tokens.push_back(got[1][i].item<int64_t>());
    return s;
  }
  static std::string root_;
  std::string schedule_ = "1f1b";
};
std::string ParallelTrain::root_;

TEST_F(ParallelTrain, StepsMatchOneRankAndPromptsAgreeBitwise) {
  auto w = ptuner::testing::world();
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, w);
  dist::ParallelState single(dist::Layout{}, ptuner::testing::self());
  Trainer parallel(config("par", layout, 5), ps);
  std::unique_ptr<Trainer> reference;  // on rank 0
  if (is_rank0()) reference = std::make_unique<Trainer>(config("ref", dist::Layout{}, 5), single);
  std::vector<StepResult> ref_steps, par_steps;
  torch::Tensor ref_grad, par_grad;
  for (int step = 0; step < 5; ++step) {
    if (reference) ref_steps.push_back(reference->step());
    par_steps.push_back(parallel.step());
    if (step == 0) {
      // The gradient that made the first update, summed over DP.
      if (reference) ref_grad = embedding(*reference).grad().clone();
      if (owns_prompt(ps)) par_grad = embedding(parallel).grad().clone();
    }
  }
  const auto a = from_rank0(ref_steps, 5);
  const auto ref = from_rank0({ref_grad, reference ? embedding(*reference).detach() : torch::Tensor()});
  for (int step = 0; step < 5; ++step) {
    const auto& b = par_steps[step];
    EXPECT_LT(std::abs(b.loss - a.loss[step]) / a.loss[step], 1e-5) << "step " << step << " layout " << layout.str();
    EXPECT_EQ(b.target_tokens, a.target_tokens[step]);
  }
  if (owns_prompt(ps)) {
    EXPECT_LT(rel_diff(par_grad, ref[0]), 1e-5) << layout.str();
    EXPECT_LT(rel_diff(embedding(parallel), ref[1]), 1e-5);
  }
  expect_same_prompt_everywhere(parallel, ps);
}

TEST_F(ParallelTrain, EvaluationAtTheLayoutEqualsOneRank) {
  const auto layout = ptuner::testing::test_layout();
  auto w = ptuner::testing::world();
  dist::ParallelState ps(layout, w);
  dist::ParallelState single(dist::Layout{}, ptuner::testing::self());
  Trainer parallel(config("eval-par", layout, 3), ps);
  std::unique_ptr<Trainer> reference;  // on rank 0
  if (is_rank0()) reference = std::make_unique<Trainer>(config("eval-ref", dist::Layout{}, 3), single);
  for (int i = 0; i < 3; ++i) {
    parallel.step();
    if (reference) reference->step();
  }
  EvalOptions o;
  o.path = root_ + "/dev.jsonl";
  o.batch_size = 3;
  o.max_input_len = 27;
  o.max_target_len = 4;
  data::Tokenizer tok(root_ + "/model/spiece.model");
  auto one_rank = [&] {
    return from_rank0(reference ? evaluate(reference->frozen().model, reference->prompt(), tok, single, o)
                                : EvalResult{});
  };
  auto a = one_rank();
  auto b = evaluate(parallel.frozen().model, parallel.prompt(), tok, ps, o);
  ASSERT_EQ(b.predictions.size(), 13u);
  EXPECT_EQ(b.predictions, a.predictions);
  EXPECT_EQ(b.metrics, a.metrics);
  // Other evaluation batches (a row each; all 13 in one, length-sorted): the same predictions.
  for (const int64_t rows : {1, 16}) {
    o.batch_size = rows;
    EXPECT_EQ(evaluate(parallel.frozen().model, parallel.prompt(), tok, ps, o).predictions, a.predictions) << rows;
  }
  o.batch_size = 3;
  // Rank classification through the layout, too.
  o.rank_labels = {"positive", "negative"};
  auto ra = one_rank();
  auto rb = evaluate(parallel.frozen().model, parallel.prompt(), tok, ps, o);
  ASSERT_EQ(rb.predictions.size(), 13u);
  EXPECT_EQ(rb.predictions, ra.predictions);
  EXPECT_EQ(rb.metrics, ra.metrics);
}

TEST_F(ParallelTrain, CachedGreedyDecodingEqualsRecomputingThePrefix) {
  // Each stage keeps its blocks' keys and values and passes on the new token's hidden state only;
  // the tokens equal those of decoding the whole prefix at every step, at this layout, with a
  // shallow prompt and with deep prompts in every encoder and decoder block's attention.
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, ptuner::testing::world());
  for (const bool deep : {false, true}) {
    auto c = config(deep ? "decode-cache-deep" : "decode-cache", layout, 2);
    if (deep)
      c = RunConfig::from_string(c.toml, "test.toml",
                                 {"prompt.method=\"deep\"", "prompt.deep.decoder=true", "prompt.deep.cross=true"});
    Trainer t(c, ps);
    for (int i = 0; i < 2; ++i) t.step();
    t.frozen().model->eval();
    t.prompt().eval();
    torch::manual_seed(23);  // the same batch on every rank
    auto ids = torch::randint(3, 400, {3, 11}, torch::kLong);
    auto mask = torch::ones({3, 11}, torch::kLong);
    mask[2].narrow(0, 8, 3).fill_(0);
    mp::PipelineStage stage(t.frozen().model);
    DecodeOptions cached, recomputed;
    cached.stop_at_eos = recomputed.stop_at_eos = false;  // all 9 steps
    recomputed.cache = false;
    auto a = greedy_decode(stage, t.prompt(), ps, ids, mask, 9, {}, cached);
    auto b = greedy_decode(stage, t.prompt(), ps, ids, mask, 9, {}, recomputed);
    ASSERT_EQ(a.sizes(), (std::vector<int64_t>{3, 9}));
    EXPECT_TRUE(torch::equal(a, b)) << "deep " << deep << "\n" << a << "\n" << b;
    const auto flat = a.flatten().contiguous();
    const std::set<int64_t> distinct(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
    EXPECT_GT(distinct.size(), 2u) << "a degenerate decoding compares little: " << a;
  }
}

TEST_F(ParallelTrain, GPipeGivesTheSameNumbersAs1F1B) {
  const auto layout = ptuner::testing::test_layout();
  if (layout.pp == 1) GTEST_SKIP() << "no pipeline in this layout";
  dist::ParallelState ps(layout, ptuner::testing::world());
  Trainer one(config("sched-1f1b", layout, 3), ps);
  schedule_ = "gpipe";
  Trainer gpipe(config("sched-gpipe", layout, 3), ps);
  for (int step = 0; step < 3; ++step) {
    auto a = one.step(), b = gpipe.step();
    EXPECT_EQ(a.loss, b.loss) << "step " << step;  // same arithmetic, another order of micro-batches' work
  }
  if (owns_prompt(ps)) {
    EXPECT_TRUE(torch::equal(embedding(one), embedding(gpipe)));
  }
}

TEST_F(ParallelTrain, GradientAccumulationWithDataParallelEqualsOneRank) {
  auto w = ptuner::testing::world();
  const auto layout = ptuner::testing::test_layout();
  if (layout.pp > 1 || 8 % (2 * layout.dp)) GTEST_SKIP() << "layout without a 2-way accumulation of batch 8";
  dist::ParallelState ps(layout, w);
  dist::ParallelState single(dist::Layout{}, ptuner::testing::self());
  auto c = config("accum", layout, 2);
  c = RunConfig::from_string(c.toml, "test.toml", {"train.grad_accum=2"});
  Trainer parallel(c, ps);
  std::unique_ptr<Trainer> reference;  // on rank 0
  if (is_rank0()) reference = std::make_unique<Trainer>(config("accum-ref", dist::Layout{}, 2), single);
  std::vector<StepResult> ref_steps, par_steps;
  for (int step = 0; step < 2; ++step) {
    if (reference) ref_steps.push_back(reference->step());
    par_steps.push_back(parallel.step());
  }
  const auto a = from_rank0(ref_steps, 2);
  const auto ref_prompt = from_rank0({reference ? embedding(*reference).detach() : torch::Tensor()})[0];
  for (int step = 0; step < 2; ++step) {
    EXPECT_LT(std::abs(par_steps[step].loss - a.loss[step]) / a.loss[step], 1e-5) << "step " << step;
  }
  if (owns_prompt(ps)) {
    EXPECT_LT(rel_diff(embedding(parallel), ref_prompt), 1e-5);
  }
}

TEST_F(ParallelTrain, RecomputationGivesTheSameNumbers) {
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, ptuner::testing::world());
  Trainer plain(config("rc-off", layout, 2), ps);
  auto c = config("rc-on", layout, 2);
  Trainer again(RunConfig::from_string(c.toml, "test.toml", {"train.recompute=true"}), ps);
  // The recomputed backward sums gradient contributions in another order: equal to fp32 rounding (1e-5, as every parallel check).
  for (int i = 0; i < 2; ++i) {
    auto a = plain.step(), b = again.step();
    EXPECT_LT(std::abs(b.loss - a.loss) / a.loss, 1e-5) << "step " << i;
  }
  if (owns_prompt(ps)) {
    EXPECT_LT(rel_diff(embedding(again), embedding(plain)), 1e-5);
  }
}

TEST_F(ParallelTrain, WithDropoutEveryRankStillHoldsTheSamePrompt) {
  // Replicated activations must get the same dropout mask on every TP rank, or the TP ranks'
  // prompts drift apart.
  auto w = ptuner::testing::world();
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, w);
  auto c = config("dropout", layout, 3);
  c = RunConfig::from_string(c.toml, "test.toml", {"model.dropout_rate=0.1"});
  Trainer t(c, ps);
  for (int i = 0; i < 3; ++i) t.step();
  expect_same_prompt_everywhere(t, ps);
}

TEST_F(ParallelTrain, CheckpointFromTheLayoutEvaluatesOnOneRankWithTheSameMetrics) {
  auto w = ptuner::testing::world();
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, w);
  auto c = config("layout-eval", layout, 4);
  c.data.dev = root_ + "/dev.jsonl";
  c.train.eval_every = 2;  // evaluation inside training, through the layout's pipeline
  {
    Trainer parallel(c, ps);
    parallel.run(false);
  }
  data::Tokenizer tok(root_ + "/model/spiece.model");
  const std::string path = root_ + "/layout-eval/checkpoint-last.h5";
  auto load_into = [&](Trainer& t) {
    auto ck = Checkpoint::load(path);
    t.prompt().load_parameters(ck.params, path);
  };
  // The same checkpoint evaluated at the layout and on one rank.
  Trainer at_layout(config("layout-eval-again", layout, 4), ps);
  load_into(at_layout);
  auto o = EvalOptions::from(c);
  EvalResult made;
  if (is_rank0()) {
    dist::ParallelState single(dist::Layout{}, ptuner::testing::self());
    Trainer one(config("layout-eval-one", dist::Layout{}, 4), single);
    load_into(one);
    made = evaluate(one.frozen().model, one.prompt(), tok, single, o);
  }
  auto a = from_rank0(made);
  auto b = evaluate(at_layout.frozen().model, at_layout.prompt(), tok, ps, o);
  ASSERT_EQ(a.predictions.size(), 13u);
  EXPECT_EQ(b.predictions, a.predictions);
  EXPECT_EQ(b.metrics, a.metrics);
  ASSERT_TRUE(a.metrics.count("exact_match"));
  // The evaluations during training were logged through the pipeline too.
  if (w->rank() == 0) {
    std::ifstream in(root_ + "/layout-eval/metrics.jsonl");
    int evals = 0;
    for (std::string line; std::getline(in, line);) evals += line.find("eval_exact_match") != std::string::npos;
    EXPECT_EQ(evals, 2);
  }
}

TEST_F(ParallelTrain, CheckpointFromTheLayoutResumesOnOneRank) {
  auto w = ptuner::testing::world();
  const auto layout = ptuner::testing::test_layout();
  dist::ParallelState ps(layout, w);
  {
    Trainer parallel(config("layout-ckpt", layout, 3), ps);
    parallel.run(false);
  }
  // Both one-rank runs on rank 0; every rank checks what rank 0 broadcasts.
  std::vector<StepResult> straight_steps, resumed_steps;
  std::vector<torch::Tensor> made;
  if (is_rank0()) {
    dist::ParallelState single(dist::Layout{}, ptuner::testing::self());
    const std::string path = root_ + "/layout-ckpt/checkpoint-last.h5";
    Trainer resumed(config("resumed", dist::Layout{}, 5), single);
    resumed.restore(Checkpoint::load(path), path);
    const int64_t resumed_at = resumed.current_step();
    Trainer straight(config("straight", dist::Layout{}, 5), single);
    for (int i = 0; i < 3; ++i) straight.step();
    for (int i = 0; i < 2; ++i) straight_steps.push_back(straight.step()), resumed_steps.push_back(resumed.step());
    made = {torch::tensor(resumed_at), embedding(resumed).detach(), embedding(straight).detach()};
  }
  const auto got = from_rank0(made);
  const auto a = from_rank0(straight_steps, 2), b = from_rank0(resumed_steps, 2);
  EXPECT_EQ(got[0].item<int64_t>(), 3);
  for (int i = 0; i < 2; ++i) {
    EXPECT_LT(std::abs(b.loss[i] - a.loss[i]) / a.loss[i], 1e-5) << "step " << 3 + i;
  }
  EXPECT_LT(rel_diff(got[1], got[2]), 1e-5);
}

}  // namespace
}  // namespace ptuner::train
