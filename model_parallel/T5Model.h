#pragma once
// The frozen T5 encoder-decoder (HF T5ForConditionalGeneration), or the part of it one
// pipeline stage holds, sharded over TP. Its forward is PipelineStage's (the stage at pp = 1
// for a single rank). Parameter names are HF's tensor names, so loading is
// a walk over named_parameters() (see WeightLoader). Every parameter has requires_grad = false.
#include <torch/torch.h>

#include "dist/ParallelState.h"
#include "model_parallel/CrossEntropy.h"
#include "model_parallel/FrozenLinear.h"
#include "model_parallel/PromptInjection.h"
#include "model_parallel/StageSpec.h"
#include "model_parallel/T5Config.h"
#include "model_parallel/T5Stack.h"
#include "model_parallel/VocabEmbedding.h"

namespace ptuner::mp {

// mask [B, S] -> [B, p+S] with the p prompt positions attended.
torch::Tensor prefixed_mask(const torch::Tensor& mask, int64_t p);

class T5ModelImpl : public torch::nn::Module {
 public:
  T5ModelImpl(const T5Config& config, const dist::ParallelState& ps, const StageSpec& stage);

  // hidden: [B, T, d] -> this TP rank's logit columns [B, T, vocab/tp], starting at
  // vocab_begin() (hidden scaled by d_model^-0.5 first where the config says: v1.0)
  torch::Tensor lm_logits_local(const torch::Tensor& hidden);
  // ... gathered over TP: [B, T, vocab] (decoding)
  torch::Tensor lm_logits(const torch::Tensor& hidden);
  int64_t vocab_begin() const;
  dist::Communicator& tp_comm() const { return ps_->tp(); }
  // Encoder input embeddings with the prompt prepended: ids [B, S] -> [B, p+S, d].
  torch::Tensor encoder_input(const torch::Tensor& ids, const PromptInjection& prompt);
  // The input embedding rows for ids (used by prompt initialisers).
  torch::Tensor embed(const torch::Tensor& ids) { return shared(ids); }
  // Global block g's (of this stage) self- or cross-attention K and V of rows x [n, d], this TP
  // rank's heads: [n, heads/tp · d_kv] each (prompt initialisers).
  std::pair<torch::Tensor, torch::Tensor> project_kv(int64_t g, const torch::Tensor& x, bool cross);

  const T5Config& config() const { return config_; }
  const StageSpec& stage() const { return stage_; }
  torch::ScalarType dtype() const { return dtype_; }
  torch::Device device() const { return device_; }
  // Before the weights are loaded (load_weights / init_weights fill every parameter): each
  // parameter becomes an empty tensor of `dtype` on `device`, nothing copied, so that the host
  // never holds the whole model (the loaders then copy one tensor at a time onto the device).
  void place(torch::ScalarType dtype, const torch::Device& device);
  void set_recompute(bool on);

  VocabEmbedding shared{nullptr};
  T5Stack encoder{nullptr}, decoder{nullptr};
  FrozenLinear lm_head{nullptr};

 private:
  T5Config config_;
  StageSpec stage_;
  const dist::ParallelState* ps_;
  torch::ScalarType dtype_ = torch::kFloat32;
  torch::Device device_ = torch::kCPU;
};
TORCH_MODULE(T5Model);

}  // namespace ptuner::mp
