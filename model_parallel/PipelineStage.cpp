#include "model_parallel/PipelineStage.h"

#include "dist/Check.h"

namespace ptuner::mp {

PipelineStage::PipelineStage(T5Model model) : model_(std::move(model)) {}

int64_t PipelineStage::first_block() const { return model_->stage().first_block(model_->config().num_layers); }

int64_t PipelineStage::end_block() const { return model_->stage().end_block(model_->config().num_layers); }

torch::TensorOptions PipelineStage::activation_options() const {
  return torch::TensorOptions().dtype(model_->dtype()).device(model_->device());
}

Shapes PipelineStage::boundary_shapes(int64_t k, const MicroBatch& mb) const {
  const auto& c = model_->config();
  const int64_t B = mb.input_ids.size(0), S = mb.prefix_length + mb.input_ids.size(1), T = mb.labels.size(1);
  if (k <= c.num_layers) return {{B, S, c.d_model}};
  return {{B, T, c.d_model}, {B, S, c.d_model}};
}

Shapes PipelineStage::input_shapes(const MicroBatch& mb) const {
  return model_->stage().first ? Shapes{} : boundary_shapes(first_block(), mb);
}

Shapes PipelineStage::output_shapes(const MicroBatch& mb) const {
  return model_->stage().last ? Shapes{} : boundary_shapes(end_block(), mb);
}

torch::Tensor PipelineStage::encode_blocks(const torch::Tensor& ids, const torch::Tensor& h,
                                           const torch::Tensor& enc_mask, const PromptInjection& prompt) {
  if (!model_->stage().first) return model_->encoder(h, enc_mask, torch::Tensor(), torch::Tensor(), &prompt);
  PTUNER_CHECK(prompt.prefix_length() == enc_mask.size(1) - ids.size(1),
               "the prompt method injects {} encoder prefix rows, the micro-batch expects {}", prompt.prefix_length(),
               enc_mask.size(1) - ids.size(1));
  return model_->encoder(model_->encoder_input(ids, prompt), enc_mask, torch::Tensor(), torch::Tensor(), &prompt);
}

torch::Tensor PipelineStage::decode_blocks(const torch::Tensor& decoder_ids, const torch::Tensor& h,
                                           const torch::Tensor& enc, const torch::Tensor& enc_mask,
                                           const PromptInjection& prompt, DecoderCache* cache) {
  auto x = model_->stage().decoder_begin == 0 ? model_->shared(decoder_ids).to(model_->dtype()) : h;
  return model_->decoder(x, torch::Tensor(), enc, enc_mask, &prompt, cache);
}

std::vector<torch::Tensor> PipelineStage::forward(const MicroBatch& mb, const std::vector<torch::Tensor>& inputs,
                                                  const PromptInjection& prompt) {
  const auto& c = model_->config();
  const auto& s = model_->stage();
  const int64_t L = c.num_layers;
  auto enc_mask = prefixed_mask(mb.attention_mask, mb.prefix_length);
  torch::Tensor h, enc;
  const int64_t k = first_block();
  if (!s.first && k <= L) {
    (k < L ? h : enc) = inputs.at(0);  // encoder hidden state, or the finished encoder output
  } else if (!s.first) {
    h = inputs.at(0);
    enc = inputs.at(1);
  }
  if (s.has_encoder()) {
    h = encode_blocks(mb.input_ids, h, enc_mask, prompt);
    if (model_->encoder->ends_stack()) enc = h, h = torch::Tensor();
  }
  if (s.has_decoder())
    h = decode_blocks(shift_right(mb.labels, c.decoder_start_token_id, c.pad_token_id), h, enc, enc_mask, prompt);
  if (s.last) return {h};
  const int64_t e = end_block();
  if (e < L) return {h};
  if (e == L) return {enc};
  return {h, enc};
}

LossSums PipelineStage::loss(const torch::Tensor& decoder_out, const torch::Tensor& labels, double z_loss) {
  return cross_entropy_sums(model_->lm_logits_local(decoder_out), labels, z_loss, model_->tp_comm(),
                            model_->vocab_begin());
}

torch::Tensor PipelineStage::logits(const torch::Tensor& decoder_out) { return model_->lm_logits(decoder_out); }

}  // namespace ptuner::mp
