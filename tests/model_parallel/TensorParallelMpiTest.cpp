// Each tensor-parallel piece against its unsharded self: the communication functions, the
// attention, a decoder stack, feed-forward, vocabulary embedding and vocabulary-parallel loss,
// and the whole model. TP = the world size (2 or 4); the unsharded reference runs on each rank alone.
#include <gtest/gtest.h>

#include "model_parallel/CrossEntropy.h"
#include "model_parallel/MemoryPlan.h"
#include "model_parallel/TensorParallelOps.h"
#include "model_parallel/WeightLoader.h"
#include "tests/MpiSupport.h"
#include "tests/StageSupport.h"

namespace ptuner::mp {
namespace {

using ptuner::testing::rel_diff;

struct Tp : ::testing::Test {
  void SetUp() override {
    ps = std::make_unique<dist::ParallelState>(dist::Layout{ptuner::testing::world()->size(), 1, 1},
                                               ptuner::testing::world());
    single = std::make_unique<dist::ParallelState>(dist::Layout{}, ptuner::testing::self());
    torch::manual_seed(11);  // the same draws on every rank
  }
  int tp() const { return ps->tp_size(); }
  int rank() const { return ps->tp_rank(); }
  std::unique_ptr<dist::ParallelState> ps, single;
};

// Copies each parameter of `full` into `shard`, sliced as WeightLoader slices HF tensors.
void shard_from(torch::nn::Module& shard, torch::nn::Module& full, const std::string& prefix, int tp, int rank) {
  torch::NoGradGuard g;
  auto src = full.named_parameters();
  for (auto& item : shard.named_parameters()) {
    auto value = src[item.key()];
    const int64_t dim = tp_split_dim(prefix + item.key());
    if (dim >= 0) value = value.chunk(tp, dim)[rank];
    item.value().copy_(value);
  }
}

void randomise(torch::nn::Module& m) {
  torch::NoGradGuard g;
  for (auto& p : m.parameters()) p.normal_(0, 0.3);
}

TEST_F(Tp, CommunicationFunctionsForwardAndBackward) {
  auto& comm = ps->tp();
  const double r = rank();
  auto x = torch::randn({2, 4 * tp()}, torch::requires_grad());
  // copy_to: identity forward; backward sums the ranks' gradients.
  auto y = copy_to_tp(x, comm);
  EXPECT_TRUE(torch::equal(y, x));
  y.backward(torch::full_like(x, r + 1));
  EXPECT_TRUE(torch::allclose(x.grad(), torch::full_like(x, tp() * (tp() + 1) / 2.0)));
  // reduce_from: forward sums; backward identity.
  auto x2 = (torch::ones({3}) * (r + 1)).requires_grad_(true);
  auto s = reduce_from_tp(x2, comm);
  EXPECT_TRUE(torch::allclose(s, torch::full({3}, tp() * (tp() + 1) / 2.0)));
  s.backward(torch::full({3}, 2.0));
  EXPECT_TRUE(torch::allclose(x2.grad(), torch::full({3}, 2.0)));
  // gather_from: concatenates last-dim slices; backward keeps the own slice.
  auto part = (torch::arange(3, torch::kFloat32) + 10 * r).view({1, 3}).requires_grad_(true);
  auto gathered = gather_from_tp(part, comm);
  ASSERT_EQ(gathered.size(1), 3 * tp());
  EXPECT_FLOAT_EQ(gathered[0][3 * (tp() - 1)].item<float>(), 10.0f * (tp() - 1));
  gathered.backward(torch::arange(3 * tp(), torch::kFloat32).view({1, -1}));
  EXPECT_TRUE(torch::equal(part.grad(), (torch::arange(3, torch::kFloat32) + 3 * r).view({1, 3})));
  // scatter_to: own slice forward; backward gathers.
  auto whole = torch::randn({2, 2 * tp()}, torch::requires_grad());
  auto mine = scatter_to_tp(whole, comm);
  EXPECT_TRUE(torch::equal(mine, whole.detach().chunk(tp(), -1)[rank()]));
  mine.backward(torch::ones_like(mine) * (r + 1));
  EXPECT_FLOAT_EQ(whole.grad()[0][2 * tp() - 1].item<float>(), static_cast<float>(tp()));
}

TEST_F(Tp, AttentionMatchesUnsharded) {
  auto c = T5Config::preset("t5-tiny");
  T5Attention full(c, single->tp()), shard(c, ps->tp());
  randomise(*full);
  shard_from(*shard, *full, "x.", tp(), rank());
  auto x1 = torch::randn({2, 5, c.d_model}, torch::requires_grad());
  auto x2 = x1.detach().clone().requires_grad_(true);
  auto bias = torch::randn({1, c.num_heads, 5, 5});
  auto y1 = full(x1, torch::Tensor(), bias);
  auto y2 = shard(x2, torch::Tensor(), bias.chunk(tp(), 1)[rank()]);
  EXPECT_LT(rel_diff(y2, y1), 1e-5);
  auto g = torch::randn_like(y1);
  y1.backward(g);
  y2.backward(g);
  EXPECT_LT(rel_diff(x2.grad(), x1.grad()), 1e-5);
  // Cross-attention: keys and values from another sequence, entered into the TP region by the
  // caller (the decoder stack, once for all its blocks).
  auto kv1 = torch::randn({2, 7, c.d_model}, torch::requires_grad());
  auto kv2 = kv1.detach().clone().requires_grad_(true);
  auto z1 = full(x1.detach(), kv1, torch::Tensor());
  auto z2 = shard(x1.detach(), copy_to_tp(kv2, ps->tp()), torch::Tensor());
  EXPECT_LT(rel_diff(z2, z1), 1e-5);
  z1.sum().backward();
  z2.sum().backward();
  EXPECT_LT(rel_diff(kv2.grad(), kv1.grad()), 1e-5);
}

TEST_F(Tp, DecoderStackMatchesUnshardedAndAllReducesTheEncoderGradientOncePerStage) {
  auto c = T5Config::preset("t5-tiny");
  c.num_decoder_layers = 3;
  for (const bool recompute : {false, true}) {
    T5Stack full(c, single->tp(), true, 0, 3), shard(c, ps->tp(), true, 0, 3);
    randomise(*full);
    shard_from(*shard, *full, "", tp(), rank());
    shard->set_recompute(recompute);
    auto h1 = torch::randn({2, 4, c.d_model}, torch::requires_grad());
    auto h2 = h1.detach().clone().requires_grad_(true);
    auto e1 = torch::randn({2, 6, c.d_model}, torch::requires_grad());
    auto e2 = e1.detach().clone().requires_grad_(true);
    auto enc_mask = torch::ones({2, 6}, torch::kLong);
    enc_mask[1][5] = 0;
    auto y1 = full(h1, torch::Tensor(), e1, enc_mask);
    auto y2 = shard(h2, torch::Tensor(), e2, enc_mask);
    EXPECT_LT(rel_diff(y2, y1), 1e-5) << recompute;
    auto g = torch::randn_like(y1);
    y1.backward(g);
    const int64_t before = ps->tp().stats().calls;
    y2.backward(g);
    // Backward's all-reduces (copy_to_tp): each block's three sub-layer inputs, and the encoder
    // output's gradient once for the three blocks' cross-attention; with recomputation also each
    // block's forward again (its three reduce_from_tp). None at tp = 1.
    EXPECT_EQ(ps->tp().stats().calls - before, tp() == 1 ? 0 : (recompute ? 3 * 3 : 0) + 3 * 3 + 1) << recompute;
    EXPECT_LT(rel_diff(h2.grad(), h1.grad()), 1e-5) << recompute;
    EXPECT_LT(rel_diff(e2.grad(), e1.grad()), 1e-5) << recompute;
  }
}

TEST_F(Tp, FeedForwardMatchesUnshardedBothKinds) {
  for (const char* kind : {"gated-gelu", "relu"}) {
    auto c = T5Config::preset("t5-tiny");
    c.feed_forward_proj = kind;
    T5FeedForward full(c, single->tp()), shard(c, ps->tp());
    randomise(*full);
    shard_from(*shard, *full, "x.", tp(), rank());
    auto x1 = torch::randn({3, 4, c.d_model}, torch::requires_grad());
    auto x2 = x1.detach().clone().requires_grad_(true);
    auto y1 = full(x1), y2 = shard(x2);
    EXPECT_LT(rel_diff(y2, y1), 1e-5) << kind;
    y1.pow(2).sum().backward();
    y2.pow(2).sum().backward();
    EXPECT_LT(rel_diff(x2.grad(), x1.grad()), 1e-5) << kind;
  }
}

TEST_F(Tp, RelativePositionBiasColumnsAreHeadSlices) {
  auto c = T5Config::preset("t5-tiny");
  RelativePositionBias full(RelativePositionBiasOptions(32, 128, c.num_heads, true));
  RelativePositionBias shard(RelativePositionBiasOptions(32, 128, c.num_heads / tp(), true));
  randomise(*full);
  shard_from(*shard, *full, "relative_attention_bias.", tp(), rank());
  EXPECT_TRUE(torch::equal(shard(6, 6), full(6, 6).chunk(tp(), 1)[rank()]));
}

TEST_F(Tp, VocabEmbeddingAndParallelLossMatchUnsharded) {
  const int64_t V = 64 * tp(), d = 16;
  VocabEmbedding full(V, d, single->tp()), shard(V, d, ps->tp());
  randomise(*full);
  {
    torch::NoGradGuard g;
    shard->weight.copy_(full->weight.chunk(tp(), 0)[rank()]);
  }
  auto ids = torch::randint(0, V, {3, 9}, torch::kLong);
  EXPECT_LT(rel_diff(shard(ids), full(ids)), 1e-6);
  // Loss over logits split by vocabulary columns, with z-loss and ignored labels.
  auto logits = (torch::randn({3, 9, V}) * 3).requires_grad_(true);
  auto labels = torch::randint(0, V, {3, 9}, torch::kLong);
  labels.index_put_({1, torch::indexing::Slice(5, torch::indexing::None)}, kIgnoreIndex);
  auto ref = cross_entropy_sums(logits, labels, 1e-4);
  auto local = logits.detach().chunk(tp(), -1)[rank()].clone().requires_grad_(true);
  auto got = cross_entropy_sums(local, labels, 1e-4, ps->tp(), rank() * (V / tp()));
  EXPECT_EQ(got.tokens.item<int64_t>(), ref.tokens.item<int64_t>());
  EXPECT_LT(std::abs(got.total.item<double>() - ref.total.item<double>()) / ref.total.item<double>(), 1e-6);
  EXPECT_LT(std::abs(got.ce.item<double>() - ref.ce.item<double>()) / ref.ce.item<double>(), 1e-6);
  ref.total.backward();
  got.total.backward();
  EXPECT_LT(rel_diff(local.grad(), logits.grad().chunk(tp(), -1)[rank()]), 1e-5);
}

TEST_F(Tp, PlannedShardSizesEqualTheBuiltShards) {
  auto c = T5Config::preset("t5-tiny");
  T5Model shard(c, *ps, StageSpec::whole(c));
  int64_t built = 0;
  for (const auto& p : shard->parameters()) built += p.numel();
  PlanInputs in;
  in.tp = tp();
  auto plan = plan_rank(c, StageSpec::whole(c), rank(), 0, in);
  EXPECT_EQ(plan.owned_parameters + plan.replica_parameters, built);
  const double owned = ps->tp().all_reduce_scalar(static_cast<double>(plan.owned_parameters), dist::ReduceOp::Sum);
  EXPECT_EQ(static_cast<int64_t>(owned), c.num_parameters());
}

TEST_F(Tp, WholeModelLossAndPromptGradientMatchUnsharded) {
  for (const char* kind : {"t5-tiny", "t5-tiny-v1.0"}) {
    auto c = T5Config::preset("t5-tiny");
    if (std::string(kind) == "t5-tiny-v1.0") c.feed_forward_proj = "relu", c.tie_word_embeddings = true;
    T5Model full(c, *single, StageSpec::whole(c)), shard(c, *ps, StageSpec::whole(c));
    init_weights(full, 5, single->tp());
    init_weights(shard, 5, ps->tp());  // layout-independent: each rank keeps its slices
    auto prompt1 = torch::randn({4, c.d_model}, torch::requires_grad());
    auto prompt2 = prompt1.detach().clone().requires_grad_(true);
    PromptInjection p1, p2;
    p1.encoder_prefix = prompt1;
    p2.encoder_prefix = prompt2;
    auto ids = torch::randint(3, 1000, {2, 6}, torch::kLong);
    auto mask = torch::ones({2, 6}, torch::kLong);
    mask[1][5] = 0;
    auto labels = torch::randint(3, 1000, {2, 3}, torch::kLong);
    PipelineStage full_stage(full), shard_stage(shard);
    auto a = full_stage.loss(ptuner::testing::decoder_output(full_stage, ids, mask, labels, p1), labels, 1e-4);
    auto b = shard_stage.loss(ptuner::testing::decoder_output(shard_stage, ids, mask, labels, p2), labels, 1e-4);
    EXPECT_LT(std::abs(b.total.item<double>() - a.total.item<double>()) / a.total.item<double>(), 1e-5) << kind;
    a.total.backward();
    b.total.backward();
    EXPECT_LT(rel_diff(prompt2.grad(), prompt1.grad()), 1e-5) << kind;
    torch::NoGradGuard g;
    EXPECT_LT(rel_diff(shard_stage.logits(ptuner::testing::decoder_output(shard_stage, ids, mask, labels, p2)),
                       full_stage.logits(ptuner::testing::decoder_output(full_stage, ids, mask, labels, p1))),
              1e-5)
        << kind;
  }
}

}  // namespace
}  // namespace ptuner::mp
