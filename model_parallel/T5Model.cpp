#include "model_parallel/T5Model.h"

#include <cmath>

#include "dist/Check.h"
#include "model_parallel/TensorParallelOps.h"

namespace ptuner::mp {

T5ModelImpl::T5ModelImpl(const T5Config& c, const dist::ParallelState& ps, const StageSpec& stage)
    : config_(c), stage_(stage), ps_(&ps) {
  c.check_settled("T5Model");
  auto& tp = ps.tp();
  PTUNER_CHECK(c.vocab_size % tp.size() == 0, "vocab_size {} is not divisible by tp={}", c.vocab_size, tp.size());
  // The embedding: input ids (first stage), decoder input ids (the stage starting the decoder),
  // the tied LM head (last stage). Stages other than the first hold a replica.
  if (stage.first || (stage.has_decoder() && stage.decoder_begin == 0) || (stage.last && c.tie_word_embeddings))
    shared = register_module("shared", VocabEmbedding(c.vocab_size, c.d_model, tp));
  if (stage.has_encoder())
    encoder = register_module("encoder", T5Stack(c, tp, false, stage.encoder_begin, stage.encoder_end));
  if (stage.has_decoder())
    decoder = register_module("decoder", T5Stack(c, tp, true, stage.decoder_begin, stage.decoder_end));
  if (stage.last && !c.tie_word_embeddings)
    lm_head = register_module("lm_head", FrozenLinear(FrozenLinearOptions(c.d_model, c.vocab_size / tp.size())));
}

void T5ModelImpl::set_recompute(bool on) {
  if (encoder) encoder->set_recompute(on);
  if (decoder) decoder->set_recompute(on);
}

void T5ModelImpl::place(torch::ScalarType dtype, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  dtype_ = dtype;
  device_ = device;
  const auto options = torch::TensorOptions().dtype(dtype).device(device);
  for (auto& p : parameters()) p.set_data(torch::empty(p.sizes(), options));
  PTUNER_CHECK(buffers().empty(), "T5Model::place: the model has buffers, which place() does not move");
}

std::pair<torch::Tensor, torch::Tensor> T5ModelImpl::project_kv(int64_t g, const torch::Tensor& x, bool cross) {
  const int64_t L = config_.num_layers;
  if (g < L) {
    PTUNER_CHECK(encoder && encoder->begin() <= g && g < encoder->end(), "encoder block {} is not on this stage", g);
    return encoder->project_kv(g, x, cross);
  }
  PTUNER_CHECK(decoder && decoder->begin() <= g - L && g - L < decoder->end(), "decoder block {} is not on this stage",
               g - L);
  return decoder->project_kv(g, x, cross);
}

torch::Tensor prefixed_mask(const torch::Tensor& mask, int64_t p) {
  return p > 0 ? torch::cat({torch::ones({mask.size(0), p}, mask.options()), mask}, 1) : mask;
}

torch::Tensor T5ModelImpl::encoder_input(const torch::Tensor& ids, const PromptInjection& prompt) {
  auto h = shared(ids).to(dtype_);
  if (!prompt.encoder_prefix.defined()) return h;
  auto prefix = prompt.encoder_prefix.to(dtype_);
  if (prefix.dim() == 2) prefix = prefix.unsqueeze(0).expand({ids.size(0), prompt.prefix_length(), config_.d_model});
  return torch::cat({prefix, h}, 1);
}

torch::Tensor T5ModelImpl::lm_logits_local(const torch::Tensor& hidden) {
  PTUNER_CHECK(stage_.last, "lm_logits on a stage without the LM head ({})", stage_.str());
  const auto h = config_.scales_decoder_output() ? hidden * std::pow(static_cast<double>(config_.d_model), -0.5) : hidden;
  if (config_.tie_word_embeddings) return frozen_linear(copy_to_tp(h, ps_->tp()), shared->weight);
  return lm_head(copy_to_tp(h, ps_->tp()));
}

torch::Tensor T5ModelImpl::lm_logits(const torch::Tensor& hidden) {
  return gather_from_tp(lm_logits_local(hidden), ps_->tp());
}

int64_t T5ModelImpl::vocab_begin() const { return ps_->tp_rank() * (config_.vocab_size / ps_->tp_size()); }

}  // namespace ptuner::mp
