#include "model_parallel/T5Config.h"

#include <fstream>

#include "dist/Check.h"
#include "model_parallel/WeightStore.h"

namespace ptuner::mp {

namespace {

template <typename T>
void read_key(const nlohmann::json& j, const char* key, T& out, const std::string& source, bool required) {
  if (!j.contains(key) || j[key].is_null()) {
    PTUNER_CHECK(!required, "{}: config has no '{}'", source, key);
    return;
  }
  try {
    out = j[key].get<T>();
  } catch (const std::exception& e) {
    PTUNER_FAIL("{}: config key '{}' has the wrong type ({}): {}", source, key, j[key].dump(), e.what());
  }
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

}  // namespace

int64_t T5Config::num_parameters() const {
  const int64_t d = d_model, inner = inner_dim();
  const int64_t attn = 4 * d * inner;  // q, k, v, o
  const int64_t ffn = (gated() ? 3 : 2) * d * d_ff;
  const int64_t bias = relative_attention_num_buckets * num_heads;
  const int64_t enc = num_layers * (attn + ffn + 2 * d) + bias + d;
  const int64_t dec = num_decoder_layers * (2 * attn + ffn + 3 * d) + bias + d;
  const int64_t emb = vocab_size * d * (tie_word_embeddings ? 1 : 2);
  return enc + dec + emb;
}

T5Config T5Config::from_json(const nlohmann::json& j, const std::string& source) {
  PTUNER_CHECK(j.is_object(), "{}: config is not a JSON object", source);
  T5Config c;
  read_key(j, "vocab_size", c.vocab_size, source, true);
  read_key(j, "d_model", c.d_model, source, true);
  read_key(j, "d_kv", c.d_kv, source, true);
  read_key(j, "d_ff", c.d_ff, source, true);
  read_key(j, "num_layers", c.num_layers, source, true);
  c.num_decoder_layers = c.num_layers;
  read_key(j, "num_decoder_layers", c.num_decoder_layers, source, false);
  read_key(j, "num_heads", c.num_heads, source, true);
  read_key(j, "relative_attention_num_buckets", c.relative_attention_num_buckets, source, false);
  read_key(j, "relative_attention_max_distance", c.relative_attention_max_distance, source, false);
  read_key(j, "layer_norm_epsilon", c.layer_norm_epsilon, source, false);
  read_key(j, "dropout_rate", c.dropout_rate, source, false);
  read_key(j, "feed_forward_proj", c.feed_forward_proj, source, false);
  read_key(j, "tie_word_embeddings", c.tie_word_embeddings, source, false);
  if (j.contains("scale_decoder_outputs") && !j["scale_decoder_outputs"].is_null()) {
    // transformers 5's file: the checkpoint decides the head (settle_head), as transformers does.
    bool scale = true;
    read_key(j, "scale_decoder_outputs", scale, source, true);
    c.scale_decoder_outputs = scale;
    c.tie_word_embeddings = true;
    c.head_follows_checkpoint = true;
  }
  read_key(j, "decoder_start_token_id", c.decoder_start_token_id, source, false);
  read_key(j, "pad_token_id", c.pad_token_id, source, false);
  read_key(j, "eos_token_id", c.eos_token_id, source, false);
  if (j.contains("model_type") && j["model_type"].is_string()) {
    const auto mt = j["model_type"].get<std::string>();
    PTUNER_CHECK(mt == "t5", "{}: model_type is '{}', ptuner reads T5 checkpoints (model_type 't5')", source, mt);
  }
  c.validate(source);
  return c;
}

void T5Config::validate(const std::string& source) const {
  const std::pair<const char*, int64_t> sizes[] = {
      {"vocab_size", vocab_size}, {"d_model", d_model}, {"d_kv", d_kv}, {"d_ff", d_ff},
      {"num_layers", num_layers}, {"num_decoder_layers", num_decoder_layers}, {"num_heads", num_heads},
      {"relative_attention_num_buckets", relative_attention_num_buckets},
      {"relative_attention_max_distance", relative_attention_max_distance}};
  for (const auto& [key, v] : sizes) PTUNER_CHECK(v > 0, "{}: {} must be positive, got {}", source, key, v);
  PTUNER_CHECK(feed_forward_proj == "relu" || feed_forward_proj == "gated-gelu",
               "{}: feed_forward_proj '{}' is not supported (use \"relu\" or \"gated-gelu\")", source,
               feed_forward_proj);
  PTUNER_CHECK(dropout_rate >= 0.0 && dropout_rate < 1.0, "{}: dropout_rate {} is outside [0, 1)", source,
               dropout_rate);
  PTUNER_CHECK(relative_attention_num_buckets >= 4, "{}: relative_attention_num_buckets {} is too small",
               source, relative_attention_num_buckets);
}

void T5Config::settle_head(bool checkpoint_has_own_lm_head) {
  if (!head_follows_checkpoint) return;
  const bool scale = scales_decoder_output();
  tie_word_embeddings = !checkpoint_has_own_lm_head;
  scale_decoder_outputs = scale;
  if (scale == tie_word_embeddings) scale_decoder_outputs.reset();
  head_follows_checkpoint = false;
}

void T5Config::check_settled(const std::string& what) const {
  PTUNER_CHECK(!head_follows_checkpoint,
               "{}: the model config was written by transformers 5 (scale_decoder_outputs), where the checkpoint's "
               "weights decide whether the LM head is the embedding; read it with its weights (T5Config::from_model_dir)",
               what);
}

namespace {

// transformers 5 ties a head that the checkpoint holds only where it holds other values than the
// embedding: the first rows tell them apart; rows that agree are compared whole.
bool has_own_lm_head(const WeightStore& store) {
  if (!store.contains("lm_head.weight")) return false;
  const std::string emb = store.embedding_name();
  if (emb.empty() || store.info(emb).shape != store.info("lm_head.weight").shape) return true;
  if (!torch::equal(store.load_slice(emb, 0, 0, 1), store.load_slice("lm_head.weight", 0, 0, 1))) return true;
  return !torch::equal(store.load(emb), store.load("lm_head.weight"));
}

}  // namespace

T5Config T5Config::from_model_dir(const std::string& dir, bool shapes_only) {
  auto c = from_file(dir + "/config.json");
  if (!c.head_follows_checkpoint) return c;
  const bool has_weights = WeightStore::present_in(dir);
  if (!has_weights && shapes_only) return c;
  PTUNER_CHECK(has_weights,
               "{}/config.json was written by transformers 5 (scale_decoder_outputs): whether the LM head is the "
               "embedding depends on the weights (lm_head.weight), and {} has no model.safetensors or "
               "model.safetensors.index.json",
               dir, dir);
  c.settle_head(has_own_lm_head(WeightStore(dir)));
  return c;
}

T5Config T5Config::from_file(const std::string& path) {
  std::ifstream in(path);
  PTUNER_CHECK(in.good(), "cannot open model config {}", path);
  nlohmann::json j;
  try {
    in >> j;
  } catch (const std::exception& e) {
    PTUNER_FAIL("{} is not valid JSON: {}", path, e.what());
  }
  return from_json(j, path);
}

nlohmann::json T5Config::to_json() const {
  const bool v11 = gated();
  nlohmann::json j = {{"architectures", {"T5ForConditionalGeneration"}},
          {"model_type", "t5"},
          {"vocab_size", vocab_size},
          {"d_model", d_model},
          {"d_kv", d_kv},
          {"d_ff", d_ff},
          {"num_layers", num_layers},
          {"num_decoder_layers", num_decoder_layers},
          {"num_heads", num_heads},
          {"relative_attention_num_buckets", relative_attention_num_buckets},
          {"relative_attention_max_distance", relative_attention_max_distance},
          {"layer_norm_epsilon", layer_norm_epsilon},
          {"dropout_rate", dropout_rate},
          {"feed_forward_proj", feed_forward_proj},
          {"dense_act_fn", v11 ? "gelu_new" : "relu"},
          {"is_gated_act", v11},
          {"tie_word_embeddings", tie_word_embeddings},
          {"decoder_start_token_id", decoder_start_token_id},
          {"pad_token_id", pad_token_id},
          {"eos_token_id", eos_token_id},
          {"initializer_factor", 1.0},
          {"is_encoder_decoder", true},
          {"torch_dtype", "float32"}};
  // Only where the one flag of transformers 4 cannot say it (and so not in fingerprints of
  // models it can).
  if (scale_decoder_outputs) j["scale_decoder_outputs"] = *scale_decoder_outputs;
  return j;
}

T5Config T5Config::preset(const std::string& name) {
  T5Config c;
  c.feed_forward_proj = "gated-gelu";
  c.tie_word_embeddings = false;
  c.dropout_rate = 0.1;
  c.vocab_size = 32128;
  auto v11 = [&](int64_t d, int64_t kv, int64_t ff, int64_t layers, int64_t heads) {
    c.d_model = d, c.d_kv = kv, c.d_ff = ff, c.num_layers = layers, c.num_decoder_layers = layers,
    c.num_heads = heads;
  };
  if (name == "t5-tiny") {
    // 1000 sentencepiece pieces + 100 sentinels, padded to a multiple of 128.
    v11(64, 16, 128, 2, 4);
    c.vocab_size = round_up(1000 + 100, 128);
    c.dropout_rate = 0.0;
  } else if (name == "t5.1.1-small") {
    v11(512, 64, 1024, 8, 6);
  } else if (name == "t5.1.1-base") {
    v11(768, 64, 2048, 12, 12);
  } else if (name == "t5.1.1-large") {
    v11(1024, 64, 2816, 24, 16);
  } else if (name == "t5.1.1-xl") {
    v11(2048, 64, 5120, 24, 32);
  } else if (name == "t5.1.1-xxl") {
    v11(4096, 64, 10240, 24, 64);
  } else if (name == "t5-11b") {
    c.feed_forward_proj = "relu";
    c.tie_word_embeddings = true;
    c.d_model = 1024, c.d_kv = 128, c.d_ff = 65536, c.num_layers = 24, c.num_decoder_layers = 24,
    c.num_heads = 128;
  } else {
    std::string known;
    for (const auto& n : preset_names()) known += (known.empty() ? "" : ", ") + n;
    PTUNER_FAIL("unknown model preset '{}' (known: {})", name, known);
  }
  c.validate("preset " + name);
  return c;
}

std::vector<std::string> T5Config::preset_names() {
  return {"t5-tiny", "t5.1.1-small", "t5.1.1-base", "t5.1.1-large", "t5.1.1-xl", "t5.1.1-xxl", "t5-11b"};
}

}  // namespace ptuner::mp
