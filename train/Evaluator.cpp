#include "train/Evaluator.h"

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <set>

#include "data/Collator.h"
#include "data/Metrics.h"
#include "data/SortedBatches.h"
#include "data/Task.h"
#include "data/TaskReader.h"
#include "dist/Check.h"

namespace ptuner::train {

namespace {

// The dev file as evaluation reads it (unlabeled rows kept).
std::unique_ptr<data::TaskReader> open_dev_reader(const EvalOptions& o) {
  return data::TaskReader::open(o.task, o.path, data::on_error_named(o.on_error), o.task_prefix,
                                /*is_training=*/false);
}

constexpr int kEvalTag = 11;

// What this stage needs of one evaluation batch: the ids, the mask with the prompt's rows, and
// the prompt method's injection for it.
struct EvalBatch {
  mp::MicroBatch mb;
  torch::Tensor enc_mask;  // [B, p+S]
  mp::PromptInjection injection;
  EvalBatch(PromptMethod& prompt, const torch::Tensor& ids, const torch::Tensor& mask, const torch::Device& device,
            const torch::Tensor& prompt_ids) {
    mb.input_ids = ids.to(device);
    mb.attention_mask = mask.to(device);
    if (prompt_ids.defined()) mb.prompt_ids = prompt_ids.cpu();  // on the host: see MicroBatch
    mb.prefix_length = prompt.prefix_length();
    enc_mask = mp::prefixed_mask(mb.attention_mask, mb.prefix_length);
    injection = prompt.injection(mb);
  }
};

// The encoder runs once through the pipeline; its output [B, p+S, d] then travels down to every
// stage holding decoder blocks (undefined elsewhere).
torch::Tensor encode_through_pipeline(mp::PipelineStage& stage, mp::PipelineLink& link, const EvalBatch& b) {
  const auto& c = stage.model()->config();
  const int64_t L = c.num_layers, B = b.mb.input_ids.size(0), S = b.enc_mask.size(1);
  const mp::Shapes hidden{{B, S, c.d_model}};
  torch::Tensor enc;
  if (stage.first_block() < L) {
    auto in = link.recv_prev(hidden);
    auto h = stage.encode_blocks(b.mb.input_ids, in.empty() ? torch::Tensor() : in[0], b.enc_mask, b.injection);
    if (stage.end_block() < L)
      link.send_next({h});
    else
      enc = h;
  } else {
    enc = link.recv_prev(hidden).at(0);
  }
  if (stage.end_block() >= L) link.send_next({enc});
  return enc;
}

// The decoder stages in turn over decoder_ids [B, T]; the last stage's output [B, T, d] (undefined
// on the other stages). With an incremental cache, decoder_ids are the new positions only, and so
// is what crosses each stage boundary.
torch::Tensor decode_through_pipeline(mp::PipelineStage& stage, mp::PipelineLink& link, const EvalBatch& b,
                                      const torch::Tensor& decoder_ids, const torch::Tensor& enc,
                                      mp::DecoderCache* cache) {
  const auto& s = stage.model()->stage();
  if (!s.has_decoder()) return {};
  const auto& c = stage.model()->config();
  torch::Tensor h;
  if (s.decoder_begin != 0) h = link.recv_prev({{decoder_ids.size(0), decoder_ids.size(1), c.d_model}}).at(0);
  h = stage.decode_blocks(decoder_ids, h, enc, b.enc_mask, b.injection, cache);
  if (s.last) return h;
  link.send_next({h});
  return {};
}

}  // namespace

EvalMode::EvalMode(mp::T5Model& model, PromptMethod& prompt)
    : model_(model), prompt_(prompt), model_training_(model->is_training()), prompt_training_(prompt.is_training()) {
  model_->eval();
  prompt_.eval();  // no dropout in a reparameterisation either
}

EvalMode::~EvalMode() {
  if (model_training_) model_->train();
  if (prompt_training_) prompt_.train();
}

namespace {

// The encoder's pass over a batch in row chunks where there is a pipeline: stage s encodes chunk
// c while stage s + 1 encodes chunk c − 1 (as a training schedule's micro-batches), instead of the
// stages taking turns over the whole batch. With m = 2·pp chunks (at most one per row) a pass over
// stages of equal cost takes m + pp − 1 = 3·pp − 1 chunk-times instead of pp·m (pp = 2: 5 against
// 8; pp = 4: 11 against 32). Decoding then takes the whole batch at once: a decoding step is
// bound by reading the weights (and on a GPU by launching kernels), which chunks would repeat.
// -> the encoder output of the whole batch [B, p+S, d] on the stages with decoder blocks
// (undefined elsewhere).
torch::Tensor encode_in_chunks(mp::PipelineStage& stage, mp::PipelineLink& link, PromptMethod& prompt,
                               const dist::ParallelState& ps, const torch::Tensor& ids, const torch::Tensor& mask,
                               const torch::Device& device, const torch::Tensor& prompt_ids, const EvalBatch& whole) {
  const int64_t B = ids.size(0);
  const int64_t n = ps.pp_size() > 1 ? std::min<int64_t>(B, 2 * ps.pp_size()) : 1;
  if (n <= 1) return encode_through_pipeline(stage, link, whole);
  std::vector<torch::Tensor> parts;
  for (int64_t c = 0, at = 0; c < n; ++c) {
    const int64_t rows = B / n + (c < B % n ? 1 : 0);
    const EvalBatch chunk(prompt, ids.narrow(0, at, rows), mask.narrow(0, at, rows), device,
                          prompt_ids.defined() ? prompt_ids.narrow(0, at, rows) : torch::Tensor());
    parts.push_back(encode_through_pipeline(stage, link, chunk));
    at += rows;
  }
  return parts.front().defined() ? torch::cat(parts, 0) : torch::Tensor();
}

}  // namespace

torch::Tensor greedy_decode(mp::PipelineStage& stage, PromptMethod& prompt, const dist::ParallelState& ps,
                            const torch::Tensor& ids, const torch::Tensor& mask, int64_t max_len,
                            const torch::Tensor& prompt_ids, const DecodeOptions& options) {
  torch::NoGradGuard no_grad;
  auto& model = stage.model();
  const auto& c = model->config();
  const auto& s = model->stage();
  const int64_t B = ids.size(0);
  const auto device = model->device();
  mp::PipelineLink link(ps, stage.activation_options(), kEvalTag);
  const EvalBatch b(prompt, ids, mask, device, prompt_ids);
  const auto enc = encode_in_chunks(stage, link, prompt, ps, ids, mask, device, prompt_ids, b);
  // Each new token: the decoder stages in turn over the new token (with the cache, each stage's
  // keys and values of the tokens before it kept) or over the whole prefix (without), the last
  // stage's argmax over the TP-gathered vocabulary, shared with every stage of the pipeline.
  const auto ids_on = torch::TensorOptions().dtype(torch::kLong).device(device);
  auto dec = torch::full({B, 1}, c.decoder_start_token_id, ids_on);
  auto last = dec;
  auto done = torch::zeros({B}, ids_on.dtype(torch::kBool));
  mp::DecoderCache cache(mp::DecoderCache::Mode::Incremental);
  for (int64_t t = 0; t < max_len; ++t) {
    auto next = torch::empty({B}, ids_on);
    auto h = options.cache ? decode_through_pipeline(stage, link, b, last, enc, &cache)
                           : decode_through_pipeline(stage, link, b, dec, enc, nullptr);
    if (s.last) next = stage.logits(h.narrow(1, h.size(1) - 1, 1)).squeeze(1).argmax(-1).contiguous();  // [B]
    ps.pp().broadcast(next, ps.pp_size() - 1);
    next.masked_fill_(done, c.pad_token_id);
    last = next.unsqueeze(1);
    dec = torch::cat({dec, last}, 1);
    if (!options.stop_at_eos) continue;
    done = done.logical_or(next == c.eos_token_id);
    if (done.all().item<bool>()) break;
  }
  return dec.narrow(1, 1, dec.size(1) - 1).cpu();
}

torch::Tensor rank_scores(mp::PipelineStage& stage, PromptMethod& prompt, const dist::ParallelState& ps,
                          const torch::Tensor& ids, const torch::Tensor& mask,
                          const std::vector<std::vector<int64_t>>& candidates, const torch::Tensor& prompt_ids) {
  torch::NoGradGuard no_grad;
  auto& model = stage.model();
  const auto& c = model->config();
  const int64_t B = ids.size(0), K = static_cast<int64_t>(candidates.size());
  PTUNER_CHECK(K > 0, "rank classification needs at least one label");
  const auto device = model->device();
  mp::PipelineLink link(ps, stage.activation_options(), kEvalTag);
  const EvalBatch b(prompt, ids, mask, device, prompt_ids);
  const auto enc = encode_in_chunks(stage, link, prompt, ps, ids, mask, device, prompt_ids, b);
  const auto on = torch::TensorOptions().device(device);
  auto scores = torch::zeros({K, B}, on.dtype(torch::kFloat32));  // Σ −log p(label tokens | input)
  // Every candidate attends to the same encoder output: its keys and values are projected once.
  // The last stage's scores reach the pipeline's other stages once, at the end.
  mp::DecoderCache cross(mp::DecoderCache::Mode::CrossOnly);
  for (int64_t k = 0; k < K; ++k) {
    const auto& label = candidates[static_cast<size_t>(k)];
    auto labels = torch::tensor(label, torch::kLong).to(device).unsqueeze(0).expand({B, static_cast<int64_t>(label.size())}).contiguous();
    auto h = decode_through_pipeline(stage, link, b, mp::shift_right(labels, c.decoder_start_token_id, c.pad_token_id),
                                     enc, &cross);
    if (model->stage().last) scores[k].copy_(stage.loss(h, labels, 0.0).ce_per_row);
  }
  ps.pp().broadcast(scores, ps.pp_size() - 1);
  return scores.cpu();
}

torch::Tensor rank_classify(mp::PipelineStage& stage, PromptMethod& prompt, const dist::ParallelState& ps,
                            const torch::Tensor& ids, const torch::Tensor& mask,
                            const std::vector<std::vector<int64_t>>& candidates, const torch::Tensor& prompt_ids) {
  return rank_scores(stage, prompt, ps, ids, mask, candidates, prompt_ids).argmin(0);  // ties: the first label
}

std::pair<torch::Tensor, torch::Tensor> rank_votes(const torch::Tensor& scores) {
  PTUNER_CHECK(scores.dim() == 3, "rank votes of scores shaped {}, not [labels, prompts, examples]",
               fmt::join(scores.sizes(), "x"));
  return {scores.argmin(0), scores.sum(1).argmin(0)};
}

std::string majority_vote(const std::vector<std::string>& predictions) {
  PTUNER_CHECK(!predictions.empty(), "a majority vote of no predictions");
  size_t best = 0, best_count = 0;
  for (size_t i = 0; i < predictions.size(); ++i) {
    const auto count = static_cast<size_t>(std::count(predictions.begin(), predictions.end(), predictions[i]));
    if (count > best_count) best = i, best_count = count;  // strictly more: ties keep the earlier prompt's
  }
  return predictions[best];
}

namespace {

// The options of one dev file. prompt.class_labels serve the free-text task of data.task alone:
// `no_class_labels` is null where they apply, else why they do not (for the error).
EvalOptions eval_options(const RunConfig& c, const std::string& task, const std::string& path,
                         const char* no_class_labels) {
  EvalOptions o;
  o.path = path;
  o.batch_size = c.eval_batch_size();
  o.max_input_len = c.data.max_input_length - encoder_prefix_rows(c);
  o.max_target_len = c.data.max_target_length;
  o.max_examples = c.data.eval_max_examples;
  o.on_error = c.data.on_error;
  o.task = task;
  o.task_prefix = c.data.task_prefix;
  if (c.data.eval_method == "rank") {
    o.rank_labels = data::task_spec(task).labels;
    if (o.rank_labels.empty() && !no_class_labels) o.rank_labels = c.prompt.class_labels;
    PTUNER_CHECK(!o.rank_labels.empty(),
                 "{}: data.eval_method = \"rank\" scores a task's legal labels, but task '{}' has free-text "
                 "targets ({}use \"greedy\")",
                 c.source, task, no_class_labels ? no_class_labels : "set prompt.class_labels to the labels to score, or ");
  }
  return o;
}

}  // namespace

EvalOptions EvalOptions::from(const RunConfig& c) { return eval_options(c, c.data.task, c.data.dev, nullptr); }

EvalOptions EvalOptions::for_task(const RunConfig& c, const std::string& task, const std::string& path) {
  return eval_options(c, task, path, "a mixture's dev sets do not take prompt.class_labels: ");
}

std::vector<EvalOptions> run_dev_sets(const RunConfig& c) {
  std::vector<EvalOptions> out;
  if (!c.data.dev.empty()) out.push_back(EvalOptions::from(c));
  for (size_t i = 0; i < c.data.mixture.size(); ++i) {
    const auto& m = c.data.mixture[i];
    if (m.dev.empty()) continue;
    out.push_back(EvalOptions::for_task(c, m.task, m.dev));
    out.back().name = m.task;
    out.back().averaged = true;
    out.back().key = fmt::format("data.mixture[{}].dev", i);
  }
  for (size_t i = 0; i < c.data.eval_set.size(); ++i) {
    const auto e = c.data.eval_set_entry(i);
    // prompt.class_labels serve data.task's free text, here as on data.dev (one task trained).
    const bool own_task = c.data.mixture.empty() && e.task == c.data.task;
    out.push_back(eval_options(c, e.task, e.dev,
                               own_task ? nullptr : "prompt.class_labels serve data.task of a one-task run alone: "));
    out.back().name = e.name;
    out.back().key = fmt::format("data.eval_set[{}].dev", i);
  }
  return out;
}

std::vector<data::TextToTextExample> read_dev_examples(const EvalOptions& o) {
  auto reader = open_dev_reader(o);
  std::vector<data::TextToTextExample> out;
  data::TextToTextExample ex;
  while ((o.max_examples <= 0 || static_cast<int64_t>(out.size()) < o.max_examples) && reader->next(ex))
    out.push_back(ex);
  return out;
}

DevLabels count_dev_labels(const EvalOptions& o) {
  auto reader = open_dev_reader(o);
  DevLabels labels;
  data::TextToTextExample ex;
  while (reader->next(ex)) {
    if (o.max_examples > 0 && labels.examples >= o.max_examples) break;
    ++labels.examples;
    labels.labeled += data::is_labeled(o.task, ex) ? 1 : 0;
  }
  return labels;
}

void check_dev_labels(const DevLabels& labels, const EvalOptions& o) {
  const int64_t unlabeled = labels.examples - labels.labeled;
  PTUNER_CHECK(labels.labeled > 0,
               "dev file {} has no labeled example: none of its {} examples has a label or answers (a test "
               "split?), so there is nothing to score",
               o.path, labels.examples);
  if (unlabeled == 0) return;
  PTUNER_CHECK(o.on_error != "fail",
               "dev file {}: {} of its {} examples have no label or answers and would not be scored "
               "(data.on_error = \"fail\"; \"skip\" scores the labeled ones with a warning)",
               o.path, unlabeled, labels.examples);
  static std::mutex mutex;
  static std::set<std::string> warned;
  std::lock_guard<std::mutex> lock(mutex);
  if (warned.insert(o.path).second)
    spdlog::warn("dev file {}: {} of its {} examples have no label or answers and are not scored", o.path, unlabeled,
                 labels.examples);
}

std::vector<DevLabels> check_eval_needs(const RunConfig& c) {
  if (c.train.eval_every <= 0) return {};
  const auto sets = run_dev_sets(c);  // rank classification's labels checked here
  PTUNER_CHECK(!sets.empty(), "{}: train.eval_every = {} needs data.dev{}", c.source, c.train.eval_every,
               c.data.mixture.empty() ? "" : " or a dev file in [[data.mixture]]");
  std::vector<DevLabels> out;
  std::vector<std::string> metrics;  // what train.best_metric may name
  if (c.data.dev.empty()) metrics.push_back("average");
  for (const auto& o : sets) {
    PTUNER_CHECK(std::filesystem::exists(o.path), "{}: {} {} does not exist", c.source, o.key, o.path);
    // A dev set with labels to score (a test split has none).
    out.push_back(count_dev_labels(o));
    check_dev_labels(out.back(), o);
    for (const auto& m : data::task_spec(o.task).metrics) metrics.push_back(o.name.empty() ? m : dev_set_metric(o.name, m));
  }
  if (c.train.best_metric != "auto")
    PTUNER_CHECK(std::find(metrics.begin(), metrics.end(), c.train.best_metric) != metrics.end(),
                 "{}: train.best_metric '{}' is not a metric of {} (it has: {})", c.source, c.train.best_metric,
                 c.data.dev.empty()         ? "the mixture's dev sets"
                 : c.data.eval_set.empty() ? "task '" + c.data.task + "'"
                                           : "the dev sets",
                 fmt::join(metrics, ", "));
  return out;
}

const std::vector<std::string>& auto_metric_order() {
  static const std::vector<std::string> order = {"average", "accuracy", "exact_match", "f1"};
  return order;
}

std::string dev_set_metric(const std::string& name, const std::string& metric) { return name + "/" + metric; }

std::string select_metric(const std::map<std::string, double>& metrics, const std::string& wanted) {
  if (wanted != "auto") {
    if (metrics.count(wanted)) return wanted;
    std::string have;
    for (const auto& [k, v] : metrics) have += (have.empty() ? "" : ", ") + k;
    PTUNER_FAIL("train.best_metric '{}' is not a metric of this task (it has: {})", wanted, have);
  }
  for (const auto& m : auto_metric_order())
    if (metrics.count(m)) return m;
  PTUNER_FAIL("the dev metrics have none of {}", fmt::join(auto_metric_order(), ", "));
}

namespace {

// Every DP rank's (index, prediction) pairs, gathered on all of them. Sent as raw bytes (index,
// length, text), not JSON: a prediction may hold invalid UTF-8 (decoded byte pieces cut inside a
// character), which JSON cannot carry, and the metric must see it as it is.
std::vector<std::string> gather_predictions(const std::vector<std::pair<int64_t, std::string>>& mine, int64_t total,
                                            dist::Communicator& dp) {
  std::string packed;
  for (const auto& [index, text] : mine) {
    const int64_t header[2] = {index, static_cast<int64_t>(text.size())};
    packed.append(reinterpret_cast<const char*>(header), sizeof(header));
    packed += text;
  }
  std::vector<std::string> out(total);
  for (const auto& part : dp.all_gather_bytes(packed)) {
    for (size_t pos = 0; pos < part.size();) {
      int64_t header[2];
      PTUNER_CHECK(part.size() - pos >= sizeof(header), "gather_predictions: a cut record");
      std::memcpy(header, part.data() + pos, sizeof(header));
      pos += sizeof(header);
      PTUNER_CHECK(header[1] >= 0 && static_cast<size_t>(header[1]) <= part.size() - pos,
                   "gather_predictions: a cut record");
      out.at(static_cast<size_t>(header[0])) = part.substr(pos, static_cast<size_t>(header[1]));
      pos += static_cast<size_t>(header[1]);
    }
  }
  return out;
}

}  // namespace

EnsembleResult evaluate_prompts(mp::T5Model& model, PromptMethod& prompt, int64_t n, const data::Tokenizer& tokenizer,
                                const dist::ParallelState& ps, const EvalOptions& o) {
  PTUNER_CHECK(n >= 1, "an evaluation of {} prompts", n);
  const EvalMode eval_mode(model, prompt);
  mp::PipelineStage stage(model);
  auto reader = open_dev_reader(o);
  data::Collator collator(o.max_input_len, o.max_target_len, tokenizer.pad_id());
  std::vector<data::TextToTextExample> examples;
  // (index, prediction) of this DP rank's examples: per prompt, and the ensemble's.
  std::vector<std::vector<std::pair<int64_t, std::string>>> mine(static_cast<size_t>(n));
  std::vector<std::pair<int64_t, std::string>> mine_ensemble;
  std::vector<std::vector<int64_t>> candidates;
  for (const auto& label : o.rank_labels) candidates.push_back(tokenizer.encode(label));
  auto run = [&](const std::vector<data::TokenizedExample>& batch) {
    auto b = collator.collate(batch);
    const int64_t B = b.input_ids.size(0);
    // N prompts: the batch N times, rows n·B … n·B + B − 1 with prompt n.
    auto ids = n > 1 ? b.input_ids.repeat({n, 1}) : b.input_ids;
    auto mask = n > 1 ? b.attention_mask.repeat({n, 1}) : b.attention_mask;
    auto prompt_ids = n > 1 ? torch::arange(n, torch::kLong).repeat_interleave(B) : torch::Tensor();
    if (!o.rank_labels.empty()) {
      const auto [best, summed] =
          rank_votes(rank_scores(stage, prompt, ps, ids, mask, candidates, prompt_ids).view({-1, n, B}));
      for (int64_t i = 0; i < B; ++i) {
        for (int64_t k = 0; k < n; ++k)
          mine[static_cast<size_t>(k)].emplace_back(batch[i].index, o.rank_labels.at(best[k][i].item<int64_t>()));
        mine_ensemble.emplace_back(batch[i].index, o.rank_labels.at(summed[i].item<int64_t>()));
      }
      return;
    }
    auto out = greedy_decode(stage, prompt, ps, ids, mask, o.max_target_len, prompt_ids);
    for (int64_t i = 0; i < B; ++i) {
      std::vector<std::string> votes;
      for (int64_t k = 0; k < n; ++k) {
        auto row = out[k * B + i].contiguous();
        std::vector<int64_t> tokens(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
        votes.push_back(tokenizer.decode(tokens));
        mine[static_cast<size_t>(k)].emplace_back(batch[i].index, votes.back());
      }
      mine_ensemble.emplace_back(batch[i].index, majority_vote(votes));
    }
  };
  data::SortedBatches batches(o.batch_size, o.max_input_len, o.max_target_len, run);
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
    batches.add(std::move(t));
  }
  batches.flush();
  PTUNER_CHECK(!examples.empty(), "dev file {} holds no examples", o.path);
  DevLabels labels{static_cast<int64_t>(examples.size()), 0};
  for (const auto& e : examples) labels.labeled += data::is_labeled(o.task, e) ? 1 : 0;
  // A set without one label (a test split: predictions for a leaderboard) gets predictions and no
  // metric; training refuses such a dev set before step 1 (check_eval_needs).
  if (labels.labeled > 0) {
    check_dev_labels(labels, o);
  } else {
    spdlog::warn("{}: none of its {} examples has a label or answers (a test split?): predictions only, no metric",
                 o.path, labels.examples);
  }
  auto result_of = [&](const std::vector<std::pair<int64_t, std::string>>& predictions) {
    EvalResult r;
    r.predictions = gather_predictions(predictions, static_cast<int64_t>(examples.size()), ps.dp());
    r.metrics = labels.labeled > 0 ? data::compute_metrics(o.task, examples, r.predictions)
                                   : std::map<std::string, double>{{"examples", 0.0}};
    return r;
  };
  EnsembleResult result;
  for (const auto& m : mine) result.prompts.push_back(result_of(m));
  result.ensemble = result_of(mine_ensemble);
  return result;
}

EvalResult evaluate(mp::T5Model& model, PromptMethod& prompt, const data::Tokenizer& tokenizer,
                    const dist::ParallelState& ps, const EvalOptions& o) {
  return evaluate_prompts(model, prompt, 1, tokenizer, ps, o).prompts.at(0);
}

std::map<std::string, double> evaluate_run(mp::T5Model& model, PromptMethod& prompt, const data::Tokenizer& tokenizer,
                                           const dist::ParallelState& ps, const RunConfig& config,
                                           std::vector<std::string>* dev_predictions) {
  std::map<std::string, double> out;
  double scores = 0, examples = 0;
  int64_t averaged = 0;
  for (const auto& o : run_dev_sets(config)) {
    auto result = evaluate(model, prompt, tokenizer, ps, o);
    if (o.name.empty()) {  // data.dev's
      out.insert(result.metrics.begin(), result.metrics.end());
      if (dev_predictions) *dev_predictions = std::move(result.predictions);
      continue;
    }
    for (const auto& [name, value] : result.metrics) out[dev_set_metric(o.name, name)] = value;
    if (!o.averaged) continue;
    scores += data::task_score(data::task_spec(o.task), result.metrics);
    examples += result.metrics.at("examples");
    ++averaged;
  }
  if (averaged > 0) {
    out["average"] = scores / static_cast<double>(averaged);
    out["examples"] = examples;
  }
  return out;
}

std::vector<std::string> predict(mp::T5Model& model, PromptMethod& prompt, const std::vector<int64_t>& prompt_of,
                                 const std::vector<std::string>& inputs, const data::Tokenizer& tokenizer,
                                 const dist::ParallelState& ps, int64_t batch_size, int64_t max_input_len,
                                 int64_t max_target_len) {
  PTUNER_CHECK(prompt_of.size() == inputs.size(), "{} rows with {} prompt choices", inputs.size(), prompt_of.size());
  const EvalMode eval_mode(model, prompt);
  mp::PipelineStage stage(model);
  data::Collator collator(max_input_len, max_target_len, tokenizer.pad_id());
  std::vector<std::pair<int64_t, std::string>> mine;
  auto run = [&](const std::vector<data::TokenizedExample>& batch) {
    auto b = collator.collate(batch);
    std::vector<int64_t> ids_of_batch;  // each row's prompt
    for (const auto& t : batch) ids_of_batch.push_back(prompt_of[static_cast<size_t>(t.index)]);
    auto out = greedy_decode(stage, prompt, ps, b.input_ids, b.attention_mask, max_target_len,
                             torch::tensor(ids_of_batch, torch::kLong));
    for (int64_t i = 0; i < out.size(0); ++i) {
      auto row = out[i].contiguous();
      std::vector<int64_t> tokens(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel());
      mine.emplace_back(batch[static_cast<size_t>(i)].index, tokenizer.decode(tokens));
    }
  };
  data::SortedBatches batches(batch_size, max_input_len, max_target_len, run);
  const int64_t n = static_cast<int64_t>(inputs.size());
  for (int64_t i = 0; i < n; ++i) {
    if (i % ps.dp_size() != ps.dp_rank()) continue;
    data::TokenizedExample t;
    t.input_ids = tokenizer.encode(inputs[static_cast<size_t>(i)]);
    t.target_ids = {tokenizer.eos_id()};
    t.index = i;
    batches.add(std::move(t));
  }
  batches.flush();
  return gather_predictions(mine, n, ps.dp());
}

}  // namespace ptuner::train
