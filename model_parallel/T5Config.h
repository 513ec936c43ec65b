#pragma once
// T5 architecture as HuggingFace's config.json describes it (v1.0 and v1.1 / LM-adapted).
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
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
  // The LM head is the embedding (no lm_head.weight of its own).
  bool tie_word_embeddings = true;
  // Whether the decoder output is scaled by d_model^-0.5 before the LM head; unset: as
  // tie_word_embeddings (transformers 4's one flag for both). transformers 5 writes this key, and
  // always `tie_word_embeddings: true` (for T5 v1.1 with `scale_decoder_outputs: false`); it
  // ignores that tie flag and ties the head only where the checkpoint has no lm_head.weight of
  // other values than the embedding's. The optional is kept only where it differs from
  // tie_word_embeddings, so a model reads to the same config (and fingerprint) whichever
  // transformers saved it.
  std::optional<bool> scale_decoder_outputs;
  // A transformers-5 config read without its weights (from_json, from_file): the head is not
  // known yet (tie_word_embeddings reads true meanwhile). from_model_dir settles it
  // (settle_head); the model, the plan and the fingerprint refuse a config left unsettled.
  bool head_follows_checkpoint = false;
  int64_t decoder_start_token_id = 0;
  int64_t pad_token_id = 0;
  int64_t eos_token_id = 1;

  bool gated() const { return feed_forward_proj == "gated-gelu"; }
  int64_t inner_dim() const { return num_heads * d_kv; }
  bool scales_decoder_output() const { return scale_decoder_outputs.value_or(tie_word_embeddings); }
  // A transformers-5 config's head: tied unless the checkpoint has an lm_head.weight of its own
  // (one with other values than the embedding's).
  void settle_head(bool checkpoint_has_own_lm_head);
  // Fails, naming `what`, where the head is unsettled (see head_follows_checkpoint).
  void check_settled(const std::string& what) const;
  // Frozen parameters of the whole model (embedding counted once when tied).
  int64_t num_parameters() const;

  // Reads HF config.json; `source` names the file in errors. Unknown feed_forward_proj or
  // non-positive sizes are errors naming the key and value.
  static T5Config from_json(const nlohmann::json& j, const std::string& source);
  static T5Config from_file(const std::string& path);
  // DIR/config.json, its head settled against DIR's weights (see head_follows_checkpoint; their
  // headers and the first rows of the embedding and lm_head are read). Without weights in DIR a
  // transformers-5 config is an error, or with shapes_only the config as read (unsettled: for
  // what needs only the model's shapes).
  static T5Config from_model_dir(const std::string& dir, bool shapes_only = false);
  nlohmann::json to_json() const;  // HF-compatible config.json
  void validate(const std::string& source) const;

  // Named architectures: t5-tiny (tests), t5.1.1-small|base|large|xl|xxl, t5-11b.
  static T5Config preset(const std::string& name);
  static std::vector<std::string> preset_names();
};

}  // namespace ptuner::mp
