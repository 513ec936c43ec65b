#pragma once
// N shallow prompts over one frozen model, each row of a micro-batch taking the one its
// MicroBatch::prompt_ids names: prompt ensembles (evaluate_prompts) and batches that mix tasks'
// prompts (ptuner predict). For evaluation and prediction only (nothing trains or checkpoints it).
// The prompts share one length (the encoder's prefix rows are one block); a residual prompt
// enters as its P' (its plain form), a deep prompt cannot (its prefixes are per layer, not rows).
// The stage holding the embedding holds the table [N, p, d]; the others know p.
#include <string>
#include <vector>

#include "train/PromptMethod.h"

namespace ptuner::train {

class PromptTable : public PromptMethod {
 public:
  // prompts: N tensors [p, d]; owner: whether this stage holds the embedding.
  PromptTable(const std::vector<torch::Tensor>& prompts, bool owner);
  std::string method() const override { return "table"; }
  nlohmann::json hyper_parameters() const override { return {{"length", length_}, {"prompts", count_}}; }
  int64_t prefix_length() const override { return length_; }
  // Row i gets prompt prompt_ids[i] (required when N > 1).
  mp::PromptInjection injection(const mp::MicroBatch& mb) override;
  std::map<std::string, std::vector<int64_t>> global_shapes() const override;
  int64_t size() const { return count_; }

 private:
  torch::Tensor table_;  // [N, p, d] (undefined off the embedding stage)
  int64_t count_, length_, d_model_;
};

// The prompts of the checkpoints at `paths` (their shallow forms), each checked to belong to the
// frozen model of `fingerprint`, as this rank's table (`holds_embedding`), on `device`.
std::shared_ptr<PromptTable> load_prompt_table(const std::vector<std::string>& paths, const std::string& fingerprint,
                                               bool holds_embedding, const torch::Device& device);

}  // namespace ptuner::train
