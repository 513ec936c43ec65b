#include "train/Evaluator.h"

#include "data/Collator.h"
#include "data/ExactMatch.h"
#include "data/JsonlReader.h"
#include "dist/Check.h"

namespace ptuner::train {

torch::Tensor greedy_decode(mp::T5Model& model, PromptMethod& prompt, const torch::Tensor& ids,
                            const torch::Tensor& mask, int64_t max_len) {
  torch::NoGradGuard no_grad;
  const auto& c = model->config();
  torch::Tensor enc_mask;
  auto enc = model->encode(ids, mask, prompt.injection(), &enc_mask);
  const int64_t B = ids.size(0);
  auto dec = torch::full({B, 1}, c.decoder_start_token_id, torch::kLong);
  auto done = torch::zeros({B}, torch::kBool);
  for (int64_t t = 0; t < max_len; ++t) {
    auto h = model->decode(dec, enc, enc_mask);
    auto logits = model->lm_logits(h.narrow(1, h.size(1) - 1, 1)).squeeze(1);  // [B, V]
    auto next = logits.argmax(-1).masked_fill(done, c.pad_token_id);
    dec = torch::cat({dec, next.unsqueeze(1)}, 1);
    done = done.logical_or(next == c.eos_token_id);
    if (done.all().item<bool>()) break;
  }
  return dec.narrow(1, 1, dec.size(1) - 1);
}

EvalResult evaluate(mp::T5Model& model, PromptMethod& prompt, const data::Tokenizer& tokenizer,
                    const dist::ParallelState& ps, const EvalOptions& o) {
  const bool was_training = model->is_training();
  model->eval();
  data::JsonlReader reader(o.path, o.on_error == "skip" ? data::OnError::Skip : data::OnError::Fail);
  data::Collator collator(o.max_input_len, o.max_target_len, tokenizer.pad_id());
  EvalResult result;
  double correct = 0, total = 0;
  std::vector<data::TokenizedExample> batch;
  std::vector<std::vector<std::string>> answers;
  auto flush = [&] {
    if (batch.empty()) return;
    auto b = collator.collate(batch);
    auto out = greedy_decode(model, prompt, b.input_ids, b.attention_mask, o.max_target_len);
    std::vector<std::string> preds;
    for (int64_t i = 0; i < out.size(0); ++i) {
      auto row = out[i].contiguous();
      std::vector<int64_t> ids(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
      preds.push_back(tokenizer.decode(ids));
    }
    correct += data::exact_match(preds, answers) * static_cast<double>(preds.size());
    total += static_cast<double>(preds.size());
    result.predictions.insert(result.predictions.end(), preds.begin(), preds.end());
    batch.clear();
    answers.clear();
  };
  data::TextToTextExample ex;
  int64_t index = 0;
  while (reader.next(ex)) {
    if (o.max_examples > 0 && index >= o.max_examples) break;
    if (index++ % ps.dp_size() != ps.dp_rank()) continue;
    data::TokenizedExample t;
    t.input_ids = tokenizer.encode(ex.inputs);
    t.target_ids = tokenizer.encode(ex.targets);
    t.index = index - 1;
    batch.push_back(std::move(t));
    answers.push_back(ex.answers.empty() ? std::vector<std::string>{ex.targets} : ex.answers);
    if (static_cast<int64_t>(batch.size()) == o.batch_size) flush();
  }
  flush();
  PTUNER_CHECK(index > 0, "dev file {} holds no examples", o.path);
  correct = ps.dp().all_reduce_scalar(correct, dist::ReduceOp::Sum);
  total = ps.dp().all_reduce_scalar(total, dist::ReduceOp::Sum);
  result.metrics["exact_match"] = total > 0 ? correct / total : 0.0;
  result.metrics["examples"] = total;
  if (was_training) model->train();
  return result;
}

}  // namespace ptuner::train
