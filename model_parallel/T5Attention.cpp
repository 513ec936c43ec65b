#include "model_parallel/T5Attention.h"

#include <ATen/Context.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/version.h>

#include "dist/Check.h"
#include "model_parallel/TensorParallelOps.h"

// LibTorch 2.1 and later: scaled_dot_product_attention with a scale argument.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
#define PTUNER_HAVE_SDPA 1
#else
#define PTUNER_HAVE_SDPA 0
#endif

namespace ptuner::mp {

bool fused_attention_available() { return PTUNER_HAVE_SDPA; }

AttentionKernel auto_attention_kernel(bool on_cuda) {
  return PTUNER_HAVE_SDPA && on_cuda ? AttentionKernel::Fused : AttentionKernel::WrittenOut;
}

void restrict_fused_attention_backends() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  at::globalContext().setSDPUseCuDNN(false);
#endif
}

torch::Tensor attention_core(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             const torch::Tensor& bias, double dropout, bool training, AttentionKernel kernel) {
  if (kernel == AttentionKernel::Auto) kernel = auto_attention_kernel(q.is_cuda());
  if (kernel == AttentionKernel::Fused) {
#if PTUNER_HAVE_SDPA
    // T5's bias (relative positions, padding, causal mask, prefix columns) as the additive mask,
    // no 1/sqrt(d_kv) scaling.
    c10::optional<at::Tensor> mask;
    if (bias.defined()) mask = bias.to(q.scalar_type());
    return at::scaled_dot_product_attention(q, k, v, mask, training ? dropout : 0.0, /*is_causal=*/false,
                                            /*scale=*/1.0);
#else
    PTUNER_CHECK(false, "fused attention needs LibTorch 2.1 or later (this build has {})", TORCH_VERSION);
#endif
  }
  auto scores = torch::matmul(q, k.transpose(-1, -2));  // [B, heads, S, K]
  if (bias.defined()) scores = scores + bias;
  auto weights = torch::softmax(scores.to(torch::kFloat32), -1).to(scores.scalar_type());
  weights = torch::dropout(weights, dropout, training);
  return torch::matmul(weights, v);
}

T5AttentionImpl::T5AttentionImpl(const T5Config& c, dist::Communicator& tp)
    : tp_(&tp), d_kv_(c.d_kv), dropout_(c.dropout_rate) {
  PTUNER_CHECK(c.num_heads % tp.size() == 0, "num_heads {} is not divisible by tp={}", c.num_heads, tp.size());
  local_heads_ = c.num_heads / tp.size();
  const int64_t inner = local_heads_ * c.d_kv;
  q = register_module("q", FrozenLinear(FrozenLinearOptions(c.d_model, inner)));
  k = register_module("k", FrozenLinear(FrozenLinearOptions(c.d_model, inner)));
  v = register_module("v", FrozenLinear(FrozenLinearOptions(c.d_model, inner)));
  o = register_module("o", FrozenLinear(FrozenLinearOptions(inner, c.d_model)));
}

torch::Tensor T5AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& kv, const torch::Tensor& bias,
                                       const KvPrefix* prefix, AttentionCache* cache) {
  const int64_t B = x.size(0), S = x.size(1);
  const bool cross = kv.defined();
  PTUNER_CHECK(!cache || !torch::GradMode::is_enabled(), "an attention cache is for decoding without gradients");
  PTUNER_CHECK(!cache || !cache->key.defined() || cache->key.size(0) == B,
               "the attention cache holds {} rows, the input has {}", cache ? cache->key.size(0) : 0, B);
  auto xin = copy_to_tp(x, *tp_);
  // [B, L, heads·d_kv] -> [B, heads, L, d_kv]
  auto split = [&](const torch::Tensor& t) {
    return t.view({B, t.size(1), local_heads_, d_kv_}).transpose(1, 2);
  };
  auto qh = split(q(xin));
  // The query rows' positions start after the cached ones (self-attention with a cache).
  const int64_t past = cache && !cross ? cache->length() : 0;
  torch::Tensor kh, vh;
  if (cross && cache && cache->key.defined()) {
    PTUNER_CHECK(cache->key.size(2) == kv.size(1), "the cross-attention cache holds {} encoder positions, the input has {}",
                 cache->key.size(2), kv.size(1));
    kh = cache->key, vh = cache->value;
  } else {
    const auto& src = cross ? kv : xin;  // kv: in the TP region already (see the header)
    kh = split(k(src)), vh = split(v(src));
    if (past > 0) kh = torch::cat({cache->key, kh}, 2), vh = torch::cat({cache->value, vh}, 2);
    if (cache) cache->key = kh, cache->value = vh;
  }
  const int64_t K = kh.size(2);
  auto b = bias;
  if (prefix && prefix->length() > 0) {
    // [1|B, heads, p, d_kv] before the K positions: [B, heads, p+K, d_kv]; zero bias over them.
    const int64_t p = prefix->length();
    PTUNER_CHECK(prefix->key.size(1) == local_heads_ && prefix->key.size(3) == d_kv_ &&
                     prefix->value.sizes() == prefix->key.sizes(),
                 "key/value prefix of shape {} / {} does not fit {} local heads of {} dims",
                 fmt::join(prefix->key.sizes(), "x"), fmt::join(prefix->value.sizes(), "x"), local_heads_, d_kv_);
    auto rows = [&](const torch::Tensor& t) { return t.to(kh.scalar_type()).expand({B, local_heads_, p, d_kv_}); };
    kh = torch::cat({rows(prefix->key), kh}, 2);
    vh = torch::cat({rows(prefix->value), vh}, 2);
    if (prefix->bias.defined()) {
      // The prefix columns' bias, next to the sequence's bias (or zeros where there is none).
      auto rest = b.defined() ? b : torch::zeros({1, 1, 1, K}, prefix->bias.options());
      auto sizes = at::infer_size(prefix->bias.sizes().slice(0, 3), rest.sizes().slice(0, 3));
      std::vector<int64_t> left = sizes, right = sizes;
      left.push_back(p), right.push_back(K);
      b = torch::cat({prefix->bias.to(kh.scalar_type()).expand(left), rest.to(kh.scalar_type()).expand(right)}, 3);
    } else if (b.defined()) {
      b = torch::constant_pad_nd(b, {p, 0});
    }
  }
  auto heads = attention_core(qh, kh, vh, b, dropout_, is_training());  // [B, heads, S, d_kv]
  auto ctx = heads.transpose(1, 2).reshape({B, S, local_heads_ * d_kv_});
  return reduce_from_tp(o(ctx), *tp_);
}

}  // namespace ptuner::mp
