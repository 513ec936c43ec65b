#pragma once
// T5 multi-head attention, tensor-parallel over heads (Megatron): q, k, v column-parallel,
// o row-parallel. No 1/√d_kv scaling (T5 folds it into the initialisation). Scores and softmax
// in fp32. The caller passes the additive bias (relative position bias and/or mask).
#include <torch/torch.h>

#include "dist/Communicator.h"
#include "model_parallel/DecoderCache.h"
#include "model_parallel/FrozenLinear.h"
#include "model_parallel/PromptInjection.h"
#include "model_parallel/T5Config.h"

namespace ptuner::mp {

// Attention's core on [B, heads, S|K, d_kv] queries, keys and values: softmax(q·kᵀ + bias)·v,
// with bias broadcastable to [B, heads, S, K], no scaling and dropout on the weights.
//   WrittenOut: two matmuls with the softmax in fp32 (the CPU's path, HF's arithmetic).
//   Fused: at::scaled_dot_product_attention with the bias as its additive mask and scale 1
//          (LibTorch >= 2.1 only: fused_attention_available()).
//   Auto: Fused for CUDA tensors where available, else WrittenOut.
enum class AttentionKernel { Auto, WrittenOut, Fused };
bool fused_attention_available();
// The kernel Auto takes: Fused for tensors on CUDA where available (also what `ptuner plan`
// assumes of a run), else WrittenOut.
AttentionKernel auto_attention_kernel(bool on_cuda);
// The fused kernels the process may use for a masked attention on CUDA: the memory-efficient
// one (and the math fallback), not cuDNN's, which recent LibTorch builds rank first on Hopper and
// whose masked backward has failed there (no execution plan for the graph; NaN query gradients,
// pytorch#196678). Process-wide; a no-op where the LibTorch has no cuDNN attention.
void restrict_fused_attention_backends();
torch::Tensor attention_core(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& bias, double dropout, bool training,
                             AttentionKernel kernel = AttentionKernel::Auto);

class T5AttentionImpl : public torch::nn::Module {
 public:
  T5AttentionImpl(const T5Config& config, dist::Communicator& tp);

  // x: [B, S, d_model]; kv: [B, K, d_model] for cross-attention (undefined: self-attention),
  // already inside the TP region: the caller applies copy_to_tp to it, once for all the decoder
  // blocks that attend to it, so that its gradient is all-reduced over TP once, not per block;
  // bias: broadcastable to [B, heads/tp, S, K] (position bias + mask); prefix (optional): p key and
  // value rows per local head placed before the K positions, with zero bias -> [B, S, d_model]
  // cache (optional, no gradient): for self-attention, the keys and values of the positions
  // before x's, which x's are appended to (bias then spans all of them: [.., S, n+S]); for
  // cross-attention, kv's keys and values, computed at the first call and reused after it.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& kv, const torch::Tensor& bias,
                        const KvPrefix* prefix = nullptr, AttentionCache* cache = nullptr);

  // This TP rank's key and value projections of x [n, d_model] -> [n, heads/tp · d_kv] each
  // (prompt initialisers: a prefix from the frozen model's own K/V of chosen rows).
  std::pair<torch::Tensor, torch::Tensor> project_kv(const torch::Tensor& x) { return {k(x), v(x)}; }

  FrozenLinear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};

 private:
  dist::Communicator* tp_;
  int64_t local_heads_, d_kv_;
  double dropout_;
};
TORCH_MODULE(T5Attention);

}  // namespace ptuner::mp
