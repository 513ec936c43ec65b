#include "train/Spot.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "dist/Check.h"
#include "train/PeftAdapter.h"
#include "train/PromptExport.h"

namespace ptuner::train {

namespace {

torch::Tensor as_rows(const torch::Tensor& t, const char* what) {
  PTUNER_CHECK(t.dim() == 2 && t.size(0) > 0, "{}: a prompt is [length, d], got shape {}", what,
               fmt::join(t.sizes(), "x"));
  return t.to(torch::kFloat64);
}

void check_same_width(const torch::Tensor& a, const torch::Tensor& b) {
  PTUNER_CHECK(a.size(1) == b.size(1), "prompts of width {} and {} come from different models (d_model)", a.size(1),
               b.size(1));
}

}  // namespace

double average_token_cosine(const torch::Tensor& a, const torch::Tensor& b) {
  auto x = as_rows(a, "average-token cosine"), y = as_rows(b, "average-token cosine");
  check_same_width(x, y);
  return torch::cosine_similarity(x.mean(0), y.mean(0), 0).item<double>();
}

double per_token_cosine(const torch::Tensor& a, const torch::Tensor& b) {
  auto x = as_rows(a, "per-token cosine"), y = as_rows(b, "per-token cosine");
  check_same_width(x, y);
  auto unit = [](const torch::Tensor& t) { return t / t.norm(2, 1, true).clamp_min(1e-12); };
  return torch::matmul(unit(x), unit(y).t()).mean().item<double>();
}

torch::Tensor task_embedding(const Checkpoint& ck, const std::string& source) {
  const auto plain = export_plain(ck, source);
  PTUNER_CHECK(plain.method == "shallow" && plain.params.count("embedding"),
               "{} holds a '{}' prompt: SPoT's task embeddings are shallow (or residual) prompts", source, ck.method);
  return plain.params.at("embedding").to(torch::kFloat32);
}

std::string tensor_digest(const torch::Tensor& t) {
  auto c = t.detach().cpu().contiguous();
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](const void* data, size_t n) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ bytes[i]) * 1099511628211ULL;
  };
  const auto dtype = static_cast<int>(c.scalar_type());
  mix(&dtype, sizeof dtype);
  for (auto s : c.sizes()) mix(&s, sizeof s);
  mix(c.data_ptr(), static_cast<size_t>(c.numel() * c.element_size()));
  return fmt::format("{:016x}", h);
}

SourcePrompt read_source_prompt(const std::string& path) {
  namespace fs = std::filesystem;
  PTUNER_CHECK(fs::exists(path), "prompt file {} does not exist", path);
  SourcePrompt s;
  s.path = fs::absolute(path).string();
  if (fs::is_directory(path)) {
    s.rows = read_peft_prompt(path).rows;
  } else {
    const auto ck = Checkpoint::load(path);
    s.rows = task_embedding(ck, path);
    s.model_fingerprint = ck.model_fingerprint;
  }
  s.digest = tensor_digest(s.rows);
  return s;
}

void check_source_model(const SourcePrompt& source, const std::string& model, const std::string& fingerprint) {
  PTUNER_CHECK(source.model_fingerprint.empty() || source.model_fingerprint == fingerprint,
               "prompt.init_file {} was trained on another frozen model (fingerprint {}), this run's model {} has "
               "fingerprint {}",
               source.path, source.model_fingerprint, model, fingerprint);
}

torch::Tensor fit_rows(const torch::Tensor& rows, int64_t p, int64_t d_model, const std::string& resize,
                       const std::string& source) {
  PTUNER_CHECK(rows.dim() == 2 && rows.size(1) == d_model,
               "{}: its prompt is {} wide, this model's d_model is {}: a prompt of another model", source,
               rows.dim() == 2 ? rows.size(1) : -1, d_model);
  const int64_t L = rows.size(0);
  if (L == p) return rows.clone();
  PTUNER_CHECK(resize == "truncate" || resize == "tile",
               "{}: its prompt has {} tokens, prompt.length is {} (set prompt.init_file_resize = \"truncate\" or "
               "\"tile\" to fit it)",
               source, L, p);
  if (resize == "truncate") {
    PTUNER_CHECK(L > p, "{}: prompt.init_file_resize = \"truncate\" shortens a prompt, but its {} tokens are fewer "
                        "than prompt.length {} (use \"tile\")",
                 source, L, p);
    return rows.narrow(0, 0, p).clone();
  }
  return rows.repeat({(p + L - 1) / L, 1}).narrow(0, 0, p).clone();
}

void check_metric(const std::string& metric) {
  PTUNER_CHECK(metric == "average-token" || metric == "per-token",
               "similarity metric '{}' is not one of: average-token, per-token", metric);
}

double SourceScore::score(const std::string& metric) const {
  check_metric(metric);
  return metric == "average-token" ? average_token : per_token;
}

std::vector<SourceScore> rank_sources(const torch::Tensor& target, const std::vector<torch::Tensor>& sources,
                                      const std::vector<std::string>& names, const std::string& metric) {
  check_metric(metric);
  PTUNER_CHECK(sources.size() == names.size(), "{} source prompts but {} names", sources.size(), names.size());
  std::vector<SourceScore> out;
  for (size_t i = 0; i < sources.size(); ++i)
    out.push_back({names[i], average_token_cosine(target, sources[i]), per_token_cosine(target, sources[i])});
  std::stable_sort(out.begin(), out.end(), [&](const SourceScore& a, const SourceScore& b) {
    return a.score(metric) > b.score(metric);
  });
  return out;
}

std::vector<double> top_k_weights(const std::vector<SourceScore>& ranked, int64_t k, const std::string& metric) {
  PTUNER_CHECK(k >= 1 && k <= static_cast<int64_t>(ranked.size()), "--top-k {} with {} sources", k, ranked.size());
  std::vector<double> w;
  for (int64_t i = 0; i < k; ++i) w.push_back(std::max(0.0, ranked[static_cast<size_t>(i)].score(metric)));
  const double sum = std::accumulate(w.begin(), w.end(), 0.0);
  for (auto& x : w) x = sum > 0 ? x / sum : 1.0 / static_cast<double>(k);
  return w;
}

torch::Tensor weighted_prompt(const std::vector<torch::Tensor>& prompts, const std::vector<double>& weights) {
  PTUNER_CHECK(!prompts.empty() && prompts.size() == weights.size(), "{} prompts with {} weights", prompts.size(),
               weights.size());
  auto out = torch::zeros_like(prompts[0], torch::kFloat64);
  for (size_t i = 0; i < prompts.size(); ++i) {
    PTUNER_CHECK(prompts[i].sizes() == prompts[0].sizes(),
                 "a weighted average needs prompts of one shape: {} and {} (prompt.length, d_model)",
                 fmt::join(prompts[0].sizes(), "x"), fmt::join(prompts[i].sizes(), "x"));
    out += weights[i] * prompts[i].to(torch::kFloat64);
  }
  return out.to(torch::kFloat32);
}

std::vector<std::vector<Neighbour>> nearest_tokens(const torch::Tensor& prompt, const torch::Tensor& embedding,
                                                   int64_t vocab, int64_t k) {
  auto p = as_rows(prompt, "nearest tokens");
  PTUNER_CHECK(embedding.dim() == 2 && embedding.size(1) == p.size(1),
               "the prompt's width {} is not the embedding's {}: another model", p.size(1),
               embedding.dim() == 2 ? embedding.size(1) : -1);
  PTUNER_CHECK(vocab >= 1 && vocab <= embedding.size(0), "vocabulary of {} ids in an embedding of {} rows", vocab,
               embedding.size(0));
  k = std::min(k, vocab);
  auto e = embedding.narrow(0, 0, vocab).to(torch::kFloat64);
  auto unit = [](const torch::Tensor& t) { return t / t.norm(2, 1, true).clamp_min(1e-12); };
  auto cos = torch::matmul(unit(p), unit(e).t());  // [L, V]
  auto [values, ids] = cos.topk(k, 1);
  std::vector<std::vector<Neighbour>> out(static_cast<size_t>(p.size(0)));
  for (int64_t i = 0; i < p.size(0); ++i)
    for (int64_t j = 0; j < k; ++j) out[static_cast<size_t>(i)].push_back({ids[i][j].item<int64_t>(), values[i][j].item<double>()});
  return out;
}

}  // namespace ptuner::train
