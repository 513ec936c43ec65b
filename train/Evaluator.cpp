#include "train/Evaluator.h"

#include <nlohmann/json.hpp>

#include <cstring>

#include "data/Collator.h"
#include "data/Metrics.h"
#include "data/TaskReader.h"
#include "dist/Check.h"

namespace ptuner::train {

torch::Tensor greedy_decode(mp::PipelineStage& stage, PromptMethod& prompt, const dist::ParallelState& ps,
                            const torch::Tensor& ids, const torch::Tensor& mask, int64_t max_len) {
  torch::NoGradGuard no_grad;
  auto& model = stage.model();
  const auto& c = model->config();
  const auto& s = model->stage();
  const auto injection = s.first ? prompt.injection() : mp::PromptInjection{};
  const int64_t L = c.num_layers, B = ids.size(0), d = c.d_model;
  const auto enc_mask = mp::prefixed_mask(mask, stage.prefix_length());
  const int64_t S = enc_mask.size(1);
  constexpr int kTag = 11;
  auto recv = [&](int64_t rows) {
    auto t = torch::empty({B, rows, d}, torch::TensorOptions().dtype(model->dtype()));
    ps.world().recv(t, ps.prev_rank(), kTag);
    return t;
  };
  auto send = [&](const torch::Tensor& t) { ps.world().send(t.contiguous(), ps.next_rank(), kTag); };
  // The encoder runs once; its output then travels down to every stage with decoder blocks.
  torch::Tensor enc;
  if (stage.first_block() < L) {
    auto h = stage.encode_blocks(ids, s.first ? torch::Tensor() : recv(S), enc_mask, injection);
    if (stage.end_block() < L)
      send(h);
    else
      enc = h;
  } else {
    enc = recv(S);
  }
  if (stage.end_block() >= L && !s.last) send(enc);
  // Each new token: the decoder stages in turn over the whole prefix, the last stage's argmax
  // over the TP-gathered vocabulary, shared with every stage of the pipeline.
  auto dec = torch::full({B, 1}, c.decoder_start_token_id, torch::kLong);
  auto done = torch::zeros({B}, torch::kBool);
  for (int64_t t = 0; t < max_len; ++t) {
    auto next = torch::empty({B}, torch::kLong);
    if (s.has_decoder()) {
      const int64_t T = dec.size(1);
      auto h = stage.decode_blocks(dec, s.decoder_begin == 0 ? torch::Tensor() : recv(T), enc, enc_mask);
      if (s.last)
        next = model->lm_logits(h.narrow(1, T - 1, 1)).squeeze(1).argmax(-1).contiguous();  // [B]
      else
        send(h);
    }
    ps.pp().broadcast(next, ps.pp_size() - 1);
    next.masked_fill_(done, c.pad_token_id);
    dec = torch::cat({dec, next.unsqueeze(1)}, 1);
    done = done.logical_or(next == c.eos_token_id);
    if (done.all().item<bool>()) break;
  }
  return dec.narrow(1, 1, dec.size(1) - 1);
}

EvalOptions EvalOptions::from(const RunConfig& c) {
  EvalOptions o;
  o.path = c.data.dev;
  o.batch_size = c.micro_batch_size();
  o.max_input_len = c.data.max_input_length - c.prompt.length;
  o.max_target_len = c.data.max_target_length;
  o.max_examples = c.data.eval_max_examples;
  o.on_error = c.data.on_error;
  o.task = c.data.task;
  o.task_prefix = c.data.task_prefix;
  return o;
}

std::string select_metric(const std::map<std::string, double>& metrics, const std::string& wanted) {
  if (wanted != "auto") {
    if (metrics.count(wanted)) return wanted;
    std::string have;
    for (const auto& [k, v] : metrics) have += (have.empty() ? "" : ", ") + k;
    PTUNER_FAIL("train.best_metric '{}' is not a metric of this task (it has: {})", wanted, have);
  }
  for (const char* m : {"accuracy", "exact_match", "f1"})
    if (metrics.count(m)) return m;
  PTUNER_FAIL("the dev metrics have none of accuracy, exact_match, f1");
}

namespace {

// Every DP rank's (index, prediction) pairs, gathered on all of them.
std::vector<std::string> gather_predictions(const std::vector<std::pair<int64_t, std::string>>& mine, int64_t total,
                                            dist::Communicator& dp) {
  std::string bytes = nlohmann::json(mine).dump();
  auto len = torch::tensor({static_cast<int64_t>(bytes.size())}, torch::kLong);
  auto lens = dp.all_gather(len);
  const int64_t longest = lens.max().item<int64_t>();
  auto buf = torch::zeros({longest}, torch::kUInt8);
  std::memcpy(buf.data_ptr(), bytes.data(), bytes.size());
  auto all = dp.all_gather(buf);  // [dp · longest]
  std::vector<std::string> out(total);
  for (int r = 0; r < dp.size(); ++r) {
    const auto* p = all.data_ptr<uint8_t>() + r * longest;
    auto part = nlohmann::json::parse(std::string(reinterpret_cast<const char*>(p), lens[r].item<int64_t>()));
    for (const auto& item : part) out.at(item[0].get<int64_t>()) = item[1].get<std::string>();
  }
  return out;
}

}  // namespace

EvalResult evaluate(mp::T5Model& model, PromptMethod& prompt, const data::Tokenizer& tokenizer,
                    const dist::ParallelState& ps, const EvalOptions& o) {
  const bool was_training = model->is_training();
  model->eval();
  mp::PipelineStage stage(model, prompt.injection().prefix_length());  // every stage holds the prompt's shape
  auto reader = data::TaskReader::open(o.task, o.path, o.on_error == "skip" ? data::OnError::Skip : data::OnError::Fail,
                                       o.task_prefix, /*is_training=*/false);
  data::Collator collator(o.max_input_len, o.max_target_len, tokenizer.pad_id());
  std::vector<data::TextToTextExample> examples;
  std::vector<std::pair<int64_t, std::string>> mine;
  std::vector<data::TokenizedExample> batch;
  auto flush = [&] {
    if (batch.empty()) return;
    auto b = collator.collate(batch);
    auto out = greedy_decode(stage, prompt, ps, b.input_ids, b.attention_mask, o.max_target_len);
    for (int64_t i = 0; i < out.size(0); ++i) {
      auto row = out[i].contiguous();
      std::vector<int64_t> ids(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
      mine.emplace_back(batch[i].index, tokenizer.decode(ids));
    }
    batch.clear();
  };
  data::TextToTextExample ex;
  while (reader->next(ex)) {
    if (o.max_examples > 0 && static_cast<int64_t>(examples.size()) >= o.max_examples) break;
    const int64_t index = static_cast<int64_t>(examples.size());
    examples.push_back(ex);
    if (index % ps.dp_size() != ps.dp_rank()) continue;
    data::TokenizedExample t;
    t.input_ids = tokenizer.encode(ex.inputs);
    t.target_ids = tokenizer.encode(ex.targets);
    t.index = index;
    batch.push_back(std::move(t));
    if (static_cast<int64_t>(batch.size()) == o.batch_size) flush();
  }
  flush();
  PTUNER_CHECK(!examples.empty(), "dev file {} holds no examples", o.path);
  EvalResult result;
  result.predictions = gather_predictions(mine, static_cast<int64_t>(examples.size()), ps.dp());
  result.metrics = data::compute_metrics(o.task, examples, result.predictions);
  if (was_training) model->train();
  return result;
}

}  // namespace ptuner::train
