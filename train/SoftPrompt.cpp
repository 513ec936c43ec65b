#include "train/SoftPrompt.h"

#include "dist/Check.h"
#include "train/RunConfig.h"
#include "train/Spot.h"

namespace ptuner::train {

namespace {

// Drop the EOS that Tokenizer::encode appends.
std::vector<int64_t> tokens_of(const data::Tokenizer& tok, const std::string& text) {
  return tok.encode(text, /*add_eos=*/false);
}

torch::Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::TensorOptions().dtype(torch::kLong));
}

}  // namespace

SoftPrompt::SoftPrompt(int64_t length, int64_t d_model, bool owner) : length_(length), d_model_(d_model) {
  if (owner) embedding = register_parameter("embedding", torch::zeros({length, d_model}));
}

mp::PromptInjection SoftPrompt::injection(const mp::MicroBatch&) {
  mp::PromptInjection inj;
  inj.encoder_prefix = embedding;  // undefined on the stages that do not hold the embedding
  return inj;
}

std::map<std::string, std::vector<int64_t>> SoftPrompt::global_shapes() const {
  return {{"embedding", {length_, d_model_}}};
}

SoftPromptInit SoftPromptInit::of(const RunConfig& c) {
  SoftPromptInit init;
  init.kind = c.prompt.init;
  init.seed = c.train.seed;
  init.sample_top = c.prompt.sample_top;
  init.class_labels = c.prompt.class_labels;
  init.text = c.prompt.init_text;
  init.file = c.prompt.init_file;
  init.resize = c.prompt.init_file_resize;
  return init;
}

std::shared_ptr<PromptMethod> make_soft_prompt(const PromptMethodArgs& a) {
  const auto& c = a.config;
  auto prompt = std::make_shared<SoftPrompt>(c.prompt.length, a.model.d_model, a.place.holds_embedding);
  if (a.place.holds_embedding && a.initialise) prompt->initialise(SoftPromptInit::of(c), *a.tokenizer, a.embed);
  return prompt;
}

void SoftPrompt::initialise(const SoftPromptInit& init, const data::Tokenizer& tokenizer,
                            const std::function<torch::Tensor(const torch::Tensor&)>& embed) {
  torch::NoGradGuard no_grad;
  embedding.copy_(initial_rows(init, embedding.size(0), embedding.size(1), tokenizer, embed));
}

torch::Tensor initial_rows(const SoftPromptInit& init, int64_t p, int64_t d_model, const data::Tokenizer& tokenizer,
                           const std::function<torch::Tensor(const torch::Tensor&)>& embed) {
  torch::NoGradGuard no_grad;
  auto rows = torch::zeros({p, d_model});
  auto gen = at::detail::createCPUGenerator(init.seed);
  auto sampled_rows = [&](int64_t n) {
    auto pool = tokenizer.most_common_ids(static_cast<int>(init.sample_top));
    PTUNER_CHECK(!pool.empty(), "sampled-vocab init: the tokenizer {} has no ordinary pieces", tokenizer.model_path());
    auto pick = torch::randperm(static_cast<int64_t>(pool.size()), gen, torch::TensorOptions().dtype(torch::kLong));
    if (static_cast<int64_t>(pool.size()) < n)  // fewer candidates than rows: draw with replacement
      pick = torch::randint(static_cast<int64_t>(pool.size()), {n}, gen, torch::TensorOptions().dtype(torch::kLong));
    auto ids = ids_tensor(pool).index_select(0, pick.narrow(0, 0, n));
    return embed(ids).to(torch::kFloat32).cpu();
  };

  if (init.kind == "uniform") {
    rows.uniform_(-0.5, 0.5, gen);
  } else if (init.kind == "sampled-vocab") {
    rows.copy_(sampled_rows(p));
  } else if (init.kind == "class-labels") {
    const int64_t n = static_cast<int64_t>(init.class_labels.size());
    PTUNER_CHECK(n <= p, "class-labels init: {} labels do not fit a prompt of length {}", n, p);
    for (int64_t i = 0; i < n; ++i) {
      auto ids = tokens_of(tokenizer, init.class_labels[i]);
      PTUNER_CHECK(!ids.empty(), "class-labels init: label '{}' has no tokens", init.class_labels[i]);
      rows[i].copy_(embed(ids_tensor(ids)).to(torch::kFloat32).mean(0).cpu());
    }
    if (n < p) rows.narrow(0, n, p - n).copy_(sampled_rows(p - n));
  } else if (init.kind == "text") {
    auto ids = tokens_of(tokenizer, init.text);
    PTUNER_CHECK(!ids.empty(), "text init: '{}' has no tokens", init.text);
    std::vector<int64_t> picked(p);
    for (int64_t i = 0; i < p; ++i) picked[i] = ids[i % ids.size()];
    rows.copy_(embed(ids_tensor(picked)).to(torch::kFloat32).cpu());
  } else if (init.kind == "file") {
    rows.copy_(fit_rows(read_source_prompt(init.file).rows, p, d_model, init.resize, "prompt.init_file " + init.file));
  } else {
    PTUNER_FAIL("unknown prompt init '{}' (uniform, sampled-vocab, class-labels, text, file)", init.kind);
  }
  return rows;
}

}  // namespace ptuner::train
