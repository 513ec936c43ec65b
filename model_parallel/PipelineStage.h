#pragma once
// One pipeline stage's forward over a micro-batch: the only forward path of the model. A
// single-rank forward is this stage at pp = 1 (it holds every block, the embedding and the LM
// head), so the HF parity, TP and PP tests run the code training runs.
// What crosses the boundary after the first k of the 2·L blocks (k = 0..2L) depends only on k:
//   k < L   {hidden}                    encoder hidden state   [B, p+S, d]
//   k = L   {encoder_out}               encoder output         [B, p+S, d]
//   k > L   {hidden, encoder_out}       decoder hidden state   [B, T, d], and the encoder output
// so every rank derives the shapes from the micro-batch it already holds (no shape messages);
// p, the encoder prefix length, comes with the micro-batch. The encoder output's gradient flows
// back through every decoder stage and is summed there.
#include <torch/torch.h>

#include <vector>

#include "model_parallel/CrossEntropy.h"
#include "model_parallel/DecoderCache.h"
#include "model_parallel/PipelineLink.h"
#include "model_parallel/PromptInjection.h"
#include "model_parallel/T5Model.h"

namespace ptuner::mp {

struct MicroBatch {
  torch::Tensor input_ids;       // [B, S]
  torch::Tensor attention_mask;  // [B, S]
  torch::Tensor labels;          // [B, T]
  torch::Tensor prompt_ids;      // [B] int64 on the host: which prompt each row carries (undefined:
                                 // prompt 0 for all); checked there and moved by the prompt table
  int64_t prefix_length = 0;     // p: encoder prefix rows the prompt method prepends (every stage)
};

class PipelineStage {
 public:
  explicit PipelineStage(T5Model model);

  // Shapes of the tensors crossing the boundary after `blocks_before` blocks.
  Shapes boundary_shapes(int64_t blocks_before, const MicroBatch& mb) const;
  Shapes input_shapes(const MicroBatch& mb) const;   // from the previous stage
  Shapes output_shapes(const MicroBatch& mb) const;  // to the next stage

  // inputs: from the previous stage (empty on the first); prompt: this stage's injection.
  // Returns the tensors for the next stage, or on the last stage {the decoder output [B, T, d]}.
  std::vector<torch::Tensor> forward(const MicroBatch& mb, const std::vector<torch::Tensor>& inputs,
                                     const PromptInjection& prompt);
  // Last stage: Σ cross-entropy (+ z-loss) of the decoder output against labels [B, T],
  // vocabulary-parallel over TP.
  LossSums loss(const torch::Tensor& decoder_out, const torch::Tensor& labels, double z_loss);
  // Last stage: full logits [B, T, vocab] (gathered over TP) of the decoder output.
  torch::Tensor logits(const torch::Tensor& decoder_out);

  // The two halves of forward(), also used alone by decoding through the pipeline.
  // This stage's encoder blocks: from ids [B, S] with the prompt prepended on the first stage,
  // else from the previous stage's h [B, p+S, d]; -> [B, p+S, d], the encoder output (final
  // norm applied) when the encoder ends on this stage. enc_mask: [B, p+S].
  torch::Tensor encode_blocks(const torch::Tensor& ids, const torch::Tensor& h, const torch::Tensor& enc_mask,
                              const PromptInjection& prompt);
  // This stage's decoder blocks: from decoder_ids [B, T] on the stage holding decoder block 0,
  // else from the previous stage's h [B, T, d]; enc: [B, p+S, d] -> [B, T, d]. cache (optional,
  // no gradient): this stage's keys and values kept while decoding (DecoderCache; Incremental:
  // decoder_ids / h hold only the new positions).
  torch::Tensor decode_blocks(const torch::Tensor& decoder_ids, const torch::Tensor& h, const torch::Tensor& enc,
                              const torch::Tensor& enc_mask, const PromptInjection& prompt,
                              DecoderCache* cache = nullptr);

  T5Model& model() { return model_; }
  // Options of the activations crossing the boundaries (the model's dtype and device).
  torch::TensorOptions activation_options() const;
  int64_t first_block() const;  // global index of this stage's first block
  int64_t end_block() const;    // one past its last

 private:
  T5Model model_;
};

}  // namespace ptuner::mp
