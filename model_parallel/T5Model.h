#pragma once
// The frozen T5 encoder-decoder (HF T5ForConditionalGeneration), or the part of it one
// pipeline stage holds, sharded over TP. Parameter names are HF's tensor names, so loading is
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

  // ids: [B, S], mask: [B, S] -> encoder output [B, p+S, d] with the prompt prepended;
  // *full_mask receives the matching [B, p+S] mask.
  torch::Tensor encode(const torch::Tensor& ids, const torch::Tensor& mask, const PromptInjection& prompt,
                       torch::Tensor* full_mask);
  // decoder_ids: [B, T] -> decoder output [B, T, d]
  torch::Tensor decode(const torch::Tensor& decoder_ids, const torch::Tensor& enc, const torch::Tensor& enc_mask);
  // hidden: [B, T, d] -> this TP rank's logit columns [B, T, vocab/tp], starting at
  // vocab_begin() (tied: hidden scaled by d_model^-0.5 first)
  torch::Tensor lm_logits_local(const torch::Tensor& hidden);
  // ... gathered over TP: [B, T, vocab] (decoding)
  torch::Tensor lm_logits(const torch::Tensor& hidden);
  int64_t vocab_begin() const;
  dist::Communicator& tp_comm() const { return ps_->tp(); }
  // Full forward on a single stage: -> local logits [B, T, vocab/tp]
  torch::Tensor forward_local(const torch::Tensor& ids, const torch::Tensor& mask, const torch::Tensor& decoder_ids,
                              const PromptInjection& prompt);
  // ... gathered: [B, T, vocab]
  torch::Tensor forward(const torch::Tensor& ids, const torch::Tensor& mask, const torch::Tensor& decoder_ids,
                        const PromptInjection& prompt);
  // Σ cross-entropy (+ z-loss) of a full forward, vocabulary-parallel over TP.
  LossSums loss_sums(const torch::Tensor& ids, const torch::Tensor& mask, const torch::Tensor& labels,
                     const PromptInjection& prompt, double z_loss);

  // Encoder input embeddings with the prompt prepended: ids [B, S] -> [B, p+S, d].
  torch::Tensor encoder_input(const torch::Tensor& ids, const PromptInjection& prompt);
  // The input embedding rows for ids (used by prompt initialisers).
  torch::Tensor embed(const torch::Tensor& ids) { return shared(ids); }

  const T5Config& config() const { return config_; }
  const StageSpec& stage() const { return stage_; }
  torch::ScalarType dtype() const { return dtype_; }
  void set_dtype(torch::ScalarType dtype);
  void set_recompute(bool on);

  VocabEmbedding shared{nullptr};
  T5Stack encoder{nullptr}, decoder{nullptr};
  FrozenLinear lm_head{nullptr};

 private:
  T5Config config_;
  StageSpec stage_;
  const dist::ParallelState* ps_;
  torch::ScalarType dtype_ = torch::kFloat32;
};
TORCH_MODULE(T5Model);

}  // namespace ptuner::mp
