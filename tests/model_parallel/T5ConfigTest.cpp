// config.json as transformers 4 and 5 write it: the LM head's tie and the decoder output's scaling.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dist/Check.h"
#include "model_parallel/T5Config.h"

namespace ptuner::mp {
namespace {

nlohmann::json v11_json() {
  return {{"model_type", "t5"}, {"vocab_size", 96}, {"d_model", 32}, {"d_kv", 8}, {"d_ff", 40}, {"num_layers", 3},
          {"num_heads", 4}, {"feed_forward_proj", "gated-gelu"}};
}

TEST(T5Config, TransformersFourHasOneFlagForTheTieAndTheScaling) {
  auto j = v11_json();
  j["tie_word_embeddings"] = false;
  const auto v11 = T5Config::from_json(j, "v11");
  EXPECT_FALSE(v11.tie_word_embeddings);
  EXPECT_FALSE(v11.scales_decoder_output());
  EXPECT_FALSE(v11.head_follows_checkpoint);
  EXPECT_FALSE(v11.to_json().contains("scale_decoder_outputs"));
  j["tie_word_embeddings"] = true;
  const auto v10 = T5Config::from_json(j, "v10");
  EXPECT_TRUE(v10.tie_word_embeddings);
  EXPECT_TRUE(v10.scales_decoder_output());
  j.erase("tie_word_embeddings");  // transformers' default: tied
  EXPECT_TRUE(T5Config::from_json(j, "default").scales_decoder_output());
}

TEST(T5Config, TransformersFiveTiesTheHeadOnlyWhereTheCheckpointHasNone) {
  // What transformers 5.12's save_pretrained writes for T5 v1.1 (tests/fixtures/hf_t5/transformers5).
  auto j = v11_json();
  j["tie_word_embeddings"] = true;
  j["scale_decoder_outputs"] = false;
  auto c = T5Config::from_json(j, "v5");
  EXPECT_TRUE(c.head_follows_checkpoint);
  EXPECT_FALSE(c.scales_decoder_output());
  auto with_head = c;
  with_head.settle_head(/*checkpoint_has_lm_head=*/true);
  EXPECT_FALSE(with_head.tie_word_embeddings);
  EXPECT_FALSE(with_head.scales_decoder_output());
  EXPECT_FALSE(with_head.head_follows_checkpoint);
  // The same model as transformers 4's file of it: one config, one fingerprint.
  auto v4 = v11_json();
  v4["tie_word_embeddings"] = false;
  EXPECT_EQ(with_head.to_json(), T5Config::from_json(v4, "v4").to_json());
  EXPECT_EQ(with_head.num_parameters(), T5Config::from_json(v4, "v4").num_parameters());
  // No lm_head.weight: the embedding is the head, unscaled (not expressible in transformers 4).
  auto without = c;
  without.settle_head(false);
  EXPECT_TRUE(without.tie_word_embeddings);
  EXPECT_FALSE(without.scales_decoder_output());
  EXPECT_EQ(without.to_json().at("scale_decoder_outputs"), false);
  EXPECT_FALSE(T5Config::from_json(without.to_json(), "round trip").scales_decoder_output());
  // T5 v1.0 as transformers 5 writes it: tied and scaled, as transformers 4's tied.
  j["scale_decoder_outputs"] = true;
  auto v10 = T5Config::from_json(j, "v5 v1.0");
  v10.settle_head(false);
  EXPECT_TRUE(v10.tie_word_embeddings);
  EXPECT_TRUE(v10.scales_decoder_output());
  EXPECT_FALSE(v10.to_json().contains("scale_decoder_outputs"));
  // An untied head on a scaled output: kept as written.
  j["tie_word_embeddings"] = false;
  const auto mixed = T5Config::from_json(j, "mixed");
  EXPECT_FALSE(mixed.head_follows_checkpoint);
  EXPECT_FALSE(mixed.tie_word_embeddings);
  EXPECT_TRUE(mixed.scales_decoder_output());
  // A wrong type is named.
  j["scale_decoder_outputs"] = "no";
  try {
    T5Config::from_json(j, "typo.json");
    FAIL() << "a string scale_decoder_outputs was accepted";
  } catch (const ptuner::Error& e) {
    EXPECT_NE(std::string(e.what()).find("typo.json: config key 'scale_decoder_outputs'"), std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace ptuner::mp
