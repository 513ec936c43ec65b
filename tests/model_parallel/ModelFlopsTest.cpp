// Matmul FLOP counts against sums worked out by hand for a small configuration.
#include <gtest/gtest.h>

#include "model_parallel/ModelFlops.h"

namespace ptuner::mp {
namespace {

T5Config small() {
  T5Config c;
  c.d_model = 2, c.num_heads = 1, c.d_kv = 2, c.d_ff = 4, c.vocab_size = 8;
  c.num_layers = 1, c.num_decoder_layers = 1, c.feed_forward_proj = "relu";
  return c;
}

TEST(ModelFlops, ForwardOfOneEncoderAndOneDecoderBlock) {
  // B = 1, S = 3, T = 2, d = 2, i = 2, f = 4, g = 2, V = 8.
  // encoder: q,k,v,o 2·3·2·2·4 = 96; QKᵀ and AV 2·2·9·2 = 72; wi, wo 2·3·2·4·2 = 96     -> 264
  // decoder: self q,k,v,o 2·2·2·2·4 = 64; QKᵀ, AV 2·2·4·2 = 32; cross q,o 2·2·2·2·2 = 32;
  //          cross k,v 2·3·2·2·2 = 48; cross QKᵀ, AV 2·2·2·3·2 = 48; wi, wo 2·2·2·4·2 = 64   -> 288
  // LM head: 2·2·2·8 = 64                                                                 -> 616
  EXPECT_DOUBLE_EQ(forward_flops(small(), 1, 3, 2), 616.0);
  // Every term is linear in B.
  EXPECT_DOUBLE_EQ(forward_flops(small(), 5, 3, 2), 5 * 616.0);
}

TEST(ModelFlops, AttentionProductsOfTheSameExample) {
  // encoder QKᵀ and AV 72; decoder self 32, cross 48.
  EXPECT_DOUBLE_EQ(attention_flops(small(), 1, 3, 2), 72.0 + 32 + 48);
}

TEST(ModelFlops, GatedFeedForwardHasThreeMatrices) {
  auto c = small();
  c.feed_forward_proj = "gated-gelu";
  // One more 2·rows·d·f matrix per block: encoder 2·3·2·4 = 48, decoder 2·2·2·4 = 32.
  EXPECT_DOUBLE_EQ(forward_flops(c, 1, 3, 2), 616.0 + 48 + 32);
}

TEST(ModelFlops, LargestMatmulIsTheShardOfOneTpRank) {
  auto c = T5Config::preset("t5.1.1-base");  // d 768, d_ff 2048, V 32128
  auto big = largest_matmul(c, 1, 8, 512, 16);
  EXPECT_EQ(big.m, 8 * 512);  // the encoder's wi: [4096, 768]·[768, 2048]
  EXPECT_EQ(big.k, 768);
  EXPECT_EQ(big.n, 2048);
  auto lm = largest_matmul(c, 2, 8, 64, 64);  // short inputs: the LM head shard wins
  EXPECT_EQ(lm.m, 8 * 64);
  EXPECT_EQ(lm.n, 32128 / 2);
  EXPECT_DOUBLE_EQ(lm.flops(), 2.0 * 512 * 768 * 16064);
}

}  // namespace
}  // namespace ptuner::mp
