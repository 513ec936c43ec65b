#pragma once
// T5 architecture as HuggingFace's config.json describes it (v1.0 and v1.1 / LM-adapted).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ptuner::mp {

struct T5Config {
  int64_t vocab_size = 32128;  // rows of the embedding (padded to a multiple of 128)
  int64_t d_model = 512;
  int64_t d_kv = 64;
  int64_t d_ff = 2048;
  int64_t num_layers = 6;
  int64_t num_decoder_layers = 6;
  int64_t num_heads = 8;
  int64_t relative_attention_num_buckets = 32;
  int64_t relative_attention_max_distance = 128;
  double layer_norm_epsilon = 1e-6;
  double dropout_rate = 0.1;
  std::string feed_forward_proj = "relu";  // "relu" | "gated-gelu"
  bool tie_word_embeddings = true;
  int64_t decoder_start_token_id = 0;
  int64_t pad_token_id = 0;
  int64_t eos_token_id = 1;

  bool gated() const { return feed_forward_proj == "gated-gelu"; }
  int64_t inner_dim() const { return num_heads * d_kv; }
  // Frozen parameters of the whole model (embedding counted once when tied).
  int64_t num_parameters() const;

  // Reads HF config.json; `source` names the file in errors. Unknown feed_forward_proj or
  // non-positive sizes are errors naming the key and value.
  static T5Config from_json(const nlohmann::json& j, const std::string& source);
  static T5Config from_file(const std::string& path);
  nlohmann::json to_json() const;  // HF-compatible config.json
  void validate(const std::string& source) const;

  // Named architectures: t5-tiny (tests), t5.1.1-small|base|large|xl|xxl, t5-11b.
  static T5Config preset(const std::string& name);
  static std::vector<std::string> preset_names();
};

}  // namespace ptuner::mp
