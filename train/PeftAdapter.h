#pragma once
// HF PEFT's PROMPT_TUNING adapter for a seq2seq T5, read and written as PEFT does (read from
// PEFT's source: PeftConfigMixin.save_pretrained, PromptEmbedding, get_peft_model_state_dict /
// set_peft_model_state_dict, PeftModelForSeq2SeqLM.forward):
//   DIR/adapter_config.json        json.dumps(asdict(config), indent=2, sort_keys=True), no newline at
//                                  the end: peft_type "PROMPT_TUNING", task_type "SEQ_2_SEQ_LM",
//                                  num_virtual_tokens n, token_dim d_model, num_transformer_submodules 1,
//                                  num_attention_heads, num_layers (the encoder's), inference_mode true,
//                                  base_model_name_or_path (config.json's _name_or_path, else model.path),
//                                  prompt_tuning_init "RANDOM", the other fields null
//   DIR/adapter_model.safetensors  one tensor "prompt_embeddings" [n · submodules, d_model] F32,
//                                  metadata {"format": "pt"}
// PeftModelForSeq2SeqLM.forward prepends rows [0, n) to the encoder's input and, with 2
// submodules (PEFT's default for SEQ_2_SEQ_LM), rows [n, 2n) to the decoder's (generate() uses
// the encoder's only). ptuner's prompts are the encoder's (Lester et al.), so it writes 1
// submodule: PEFT then computes exactly what ptuner does. Reading takes rows [0, n) of any
// F32/F16/BF16 "prompt_embeddings" of a SEQ_2_SEQ_LM adapter; a 2-submodule adapter's decoder
// rows have no place in ptuner and are dropped, with a warning.
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <string>

#include "train/Checkpoint.h"
#include "train/RunConfig.h"

namespace ptuner::train {

struct PeftPrompt {
  torch::Tensor rows;     // [n, token_dim] fp32: the encoder's prompt
  nlohmann::json config;  // adapter_config.json
  int64_t submodules = 1; // num_transformer_submodules (2: decoder rows were dropped)
};
PeftPrompt read_peft_prompt(const std::string& dir);

// Writes a shallow prompt checkpoint (a plain form: export_plain) as an adapter directory.
void write_peft_adapter(const std::string& dir, const Checkpoint& shallow, const std::string& source);

// An adapter directory as a ptuner checkpoint of a run of `config` (the frozen model it belongs
// to: token_dim must be its d_model).
Checkpoint import_peft_adapter(const std::string& dir, const RunConfig& config);

}  // namespace ptuner::train
