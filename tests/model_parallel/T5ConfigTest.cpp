// config.json as transformers 4 and 5 write it: the LM head's tie and the decoder output's scaling.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "dist/Check.h"
#include "model_parallel/ModelFingerprint.h"
#include "model_parallel/SafetensorsWriter.h"
#include "model_parallel/T5Config.h"
#include "model_parallel/WeightStore.h"
#include "tests/TempDirTest.h"

namespace ptuner::mp {
namespace {

nlohmann::json v11_json() {
  return {{"model_type", "t5"}, {"vocab_size", 96}, {"d_model", 32}, {"d_kv", 8}, {"d_ff", 40}, {"num_layers", 3},
          {"num_heads", 4}, {"feed_forward_proj", "gated-gelu"}};
}

// The message of what `f` throws ("" where it throws nothing).
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const ptuner::Error& e) {
    return e.what();
  }
  return "";
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

TEST(T5Config, TransformersFiveLetsTheCheckpointDecideTheHead) {
  // What transformers 5.12's save_pretrained writes for T5 v1.1 (tests/fixtures/hf_t5/transformers5).
  auto j = v11_json();
  j["tie_word_embeddings"] = true;
  j["scale_decoder_outputs"] = false;
  auto c = T5Config::from_json(j, "v5");
  EXPECT_TRUE(c.head_follows_checkpoint);
  EXPECT_FALSE(c.scales_decoder_output());
  auto with_head = c;
  with_head.settle_head(/*checkpoint_has_own_lm_head=*/true);
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
  // T5 v1.0 as transformers 5 writes it: tied and scaled, as transformers 4's tied.
  j["scale_decoder_outputs"] = true;
  auto v10 = T5Config::from_json(j, "v5 v1.0");
  v10.settle_head(false);
  EXPECT_TRUE(v10.tie_word_embeddings);
  EXPECT_TRUE(v10.scales_decoder_output());
  EXPECT_FALSE(v10.to_json().contains("scale_decoder_outputs"));
  // transformers 5 ignores the tie flag where scale_decoder_outputs is there (it forces true):
  // so does ptuner.
  j["tie_word_embeddings"] = false;
  auto edited = T5Config::from_json(j, "edited");
  EXPECT_TRUE(edited.head_follows_checkpoint);
  auto own = edited;
  own.settle_head(true);
  EXPECT_FALSE(own.tie_word_embeddings);
  EXPECT_TRUE(own.scales_decoder_output());  // an own head on a scaled output: kept
  EXPECT_EQ(own.to_json().at("scale_decoder_outputs"), true);
  EXPECT_TRUE(T5Config::from_json(own.to_json(), "round trip").head_follows_checkpoint);
  edited.settle_head(false);
  EXPECT_TRUE(edited.tie_word_embeddings);
  // A wrong type is named.
  j["scale_decoder_outputs"] = "no";
  EXPECT_NE(error_of([&] { T5Config::from_json(j, "typo.json"); }).find("typo.json: config key 'scale_decoder_outputs'"),
            std::string::npos);
}

TEST(T5Config, AnUnsettledHeadIsRefusedByTheFingerprint) {
  auto j = v11_json();
  j["scale_decoder_outputs"] = false;
  const auto c = T5Config::from_json(j, "v5");
  const auto e = error_of([&] { c.check_settled("plan"); });
  EXPECT_NE(e.find("plan: the model config was written by transformers 5"), std::string::npos) << e;
  EXPECT_NE(error_of([&] { preset_fingerprint(c, "x", 0, "cpu"); }).find("model fingerprint"), std::string::npos);
}

class T5ModelDir : public ptuner::testing::TempDirTest {
 protected:
  // config.json (transformers 5's v1.1 keys) and, unless `weights` is empty, model.safetensors.
  void write_model(const std::vector<std::pair<std::string, torch::Tensor>>& weights) {
    auto j = v11_json();
    j["tie_word_embeddings"] = true;
    j["scale_decoder_outputs"] = false;
    write("config.json", j.dump());
    if (!weights.empty()) write_safetensors((dir_ / "model.safetensors").string(), weights);
  }
};

TEST_F(T5ModelDir, TheHeadIsTiedUnlessTheCheckpointHoldsOtherValues) {
  const auto emb = torch::randn({96, 32});
  write_model({{"shared.weight", emb}, {"lm_head.weight", emb.clone() + 1}});
  EXPECT_FALSE(T5Config::from_model_dir(dir_.string()).tie_word_embeddings);
  // The same values under both names (as torch .bin checkpoints keep them): one tensor, tied.
  write_model({{"shared.weight", emb}, {"lm_head.weight", emb.clone()}});
  EXPECT_TRUE(T5Config::from_model_dir(dir_.string()).tie_word_embeddings);
  // Equal first rows, other values further down: compared whole.
  auto later = emb.clone();
  later[50][3] += 1;
  write_model({{"shared.weight", emb}, {"lm_head.weight", later}});
  EXPECT_FALSE(T5Config::from_model_dir(dir_.string()).tie_word_embeddings);
  write_model({{"shared.weight", emb}});
  const auto tied = T5Config::from_model_dir(dir_.string());
  EXPECT_TRUE(tied.tie_word_embeddings);
  EXPECT_FALSE(tied.scales_decoder_output());
}

TEST_F(T5ModelDir, WithoutWeightsOnlyTheShapesCanBeRead) {
  write_model({});
  const auto e = error_of([&] { T5Config::from_model_dir(dir_.string()); });
  EXPECT_NE(e.find("config.json was written by transformers 5"), std::string::npos) << e;
  EXPECT_NE(e.find("has no model.safetensors or model.safetensors.index.json"), std::string::npos) << e;
  const auto shapes = T5Config::from_model_dir(dir_.string(), /*shapes_only=*/true);
  EXPECT_EQ(shapes.d_model, 32);
  EXPECT_TRUE(shapes.head_follows_checkpoint);
}

}  // namespace
}  // namespace ptuner::mp
