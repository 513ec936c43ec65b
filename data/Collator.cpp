#include "data/Collator.h"

#include <torch/torch.h>

#include <algorithm>

#include "dist/Check.h"

namespace ptuner::data {

namespace {

// Length after truncation to max_len (the kept eos counts).
int64_t kept_length(const std::vector<int64_t>& ids, int64_t max_len) {
  return std::min<int64_t>(static_cast<int64_t>(ids.size()), max_len);
}

// Writes the first `len` ids of the truncated sequence into `row`: ids[0..len-1), then eos
// when the sequence was cut, else ids[len-1].
void write_row(const std::vector<int64_t>& ids, int64_t len, int64_t* row) {
  std::copy(ids.begin(), ids.begin() + len, row);
  if (static_cast<int64_t>(ids.size()) > len) row[len - 1] = Collator::kEosId;
}

}  // namespace

Collator::Collator(int64_t max_input_len, int64_t max_target_len, int64_t pad_id)
    : max_input_len_(max_input_len), max_target_len_(max_target_len), pad_id_(pad_id) {
  PTUNER_CHECK(max_input_len >= 1, "Collator: max_input_len must be >= 1, got {}", max_input_len);
  PTUNER_CHECK(max_target_len >= 1, "Collator: max_target_len must be >= 1, got {}",
               max_target_len);
}

Batch Collator::collate(const std::vector<TokenizedExample>& examples) const {
  PTUNER_CHECK(!examples.empty(), "Collator: cannot collate an empty list of examples");
  const auto b = static_cast<int64_t>(examples.size());
  int64_t s = 0, t = 0;
  for (int64_t i = 0; i < b; ++i) {
    const auto& ex = examples[static_cast<size_t>(i)];
    PTUNER_CHECK(!ex.input_ids.empty() && !ex.target_ids.empty(),
                 "Collator: example {} (dataset index {}) has {} input and {} target ids; "
                 "both must be non-empty",
                 i, ex.index, ex.input_ids.size(), ex.target_ids.size());
    s = std::max(s, kept_length(ex.input_ids, max_input_len_));
    t = std::max(t, kept_length(ex.target_ids, max_target_len_));
  }

  Batch batch;
  const auto opts = torch::TensorOptions().dtype(torch::kLong);
  batch.input_ids = torch::full({b, s}, pad_id_, opts);
  batch.attention_mask = torch::zeros({b, s}, opts);
  batch.labels = torch::full({b, t}, kIgnoreIndex, opts);
  int64_t* input = batch.input_ids.data_ptr<int64_t>();
  int64_t* mask = batch.attention_mask.data_ptr<int64_t>();
  int64_t* labels = batch.labels.data_ptr<int64_t>();
  batch.indices.reserve(examples.size());
  batch.sources.reserve(examples.size());
  for (int64_t i = 0; i < b; ++i) {
    const auto& ex = examples[static_cast<size_t>(i)];
    const int64_t in_len = kept_length(ex.input_ids, max_input_len_);
    const int64_t tgt_len = kept_length(ex.target_ids, max_target_len_);
    write_row(ex.input_ids, in_len, input + i * s);
    std::fill(mask + i * s, mask + i * s + in_len, int64_t{1});
    write_row(ex.target_ids, tgt_len, labels + i * t);
    batch.num_input_tokens += in_len;
    batch.num_target_tokens += tgt_len;
    batch.indices.push_back(ex.index);
    batch.sources.push_back(ex.source);
  }
  return batch;
}

}  // namespace ptuner::data
