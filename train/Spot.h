#pragma once
// SPoT (Vu et al., 2022): prompts as task embeddings, their similarity, and the target inits
// retrieved from a ranking of source prompts; and the nearest vocabulary items of a prompt's
// tokens (Lester et al., §7). A task embedding is a prompt's shallow form [L, d] (a residual
// prompt's P'); deep prompts have none.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "train/Checkpoint.h"

namespace ptuner::train {

// cos(mean_i a_i, mean_j b_j) of prompts a [L1, d], b [L2, d]: SPoT's "average tokens" metric.
double average_token_cosine(const torch::Tensor& a, const torch::Tensor& b);
// (1/(L1·L2)) Σ_i Σ_j cos(a_i, b_j): SPoT's "per-token average" metric.
double per_token_cosine(const torch::Tensor& a, const torch::Tensor& b);

// The task embedding of a checkpoint read from `source`: its prompt's shallow form [L, d] (fp32).
torch::Tensor task_embedding(const Checkpoint& ck, const std::string& source);

// A prompt to transfer (prompt.init = "file"): a ptuner checkpoint's shallow form, or a HF PEFT
// prompt-tuning adapter directory's encoder prompt. model_fingerprint: the checkpoint's frozen
// model ("" for an adapter).
struct SourcePrompt {
  std::string path;
  torch::Tensor rows;  // [L, d] fp32
  std::string model_fingerprint;
  std::string digest;  // 16 hex digits (FNV-1a of the rows' bytes)
};
SourcePrompt read_source_prompt(const std::string& path);
// A transfer source trained on another frozen model is no init for this one: an error naming the
// source, both fingerprints and `model` (the frozen model's path or preset). A PEFT adapter holds
// no fingerprint and passes.
void check_source_model(const SourcePrompt& source, const std::string& model, const std::string& fingerprint);
// rows [L, d] as p rows of d_model: L = p as they are; otherwise resize "truncate" (L > p: the
// first p) or "tile" (repeated cyclically, then cut to p); "none" refuses, naming both lengths.
torch::Tensor fit_rows(const torch::Tensor& rows, int64_t p, int64_t d_model, const std::string& resize,
                       const std::string& source);
// 16 hex digits of FNV-1a over a tensor's dtype, shape and bytes.
std::string tensor_digest(const torch::Tensor& t);

struct SourceScore {
  std::string source;  // the file
  double average_token = 0, per_token = 0;
  double score(const std::string& metric) const;  // "average-token" | "per-token"
};

// Sources scored against the target and sorted by `metric`, best first (ties: the order given).
std::vector<SourceScore> rank_sources(const torch::Tensor& target, const std::vector<torch::Tensor>& sources,
                                      const std::vector<std::string>& names, const std::string& metric);
void check_metric(const std::string& metric);

// SPoT's top-k weighted average: the weights of the k best-ranked sources, proportional to their
// similarity (negative similarities count as 0; all zero: equal weights); they sum to 1.
std::vector<double> top_k_weights(const std::vector<SourceScore>& ranked, int64_t k, const std::string& metric);
// Σ_i w_i · prompt_i (prompts of one shape).
torch::Tensor weighted_prompt(const std::vector<torch::Tensor>& prompts, const std::vector<double>& weights);

struct Neighbour {
  int64_t id;
  double cosine;
};
// For each prompt row [L, d], the k vocabulary rows of `embedding` [V, d] (only the first
// `vocab` ids: the tokenizer's, not the padding rows) with the largest cosine similarity.
std::vector<std::vector<Neighbour>> nearest_tokens(const torch::Tensor& prompt, const torch::Tensor& embedding,
                                                   int64_t vocab, int64_t k);

}  // namespace ptuner::train
