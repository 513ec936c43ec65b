#include "train/DeepPrompt.h"

#include <cmath>

#include "dist/Check.h"
#include "train/RunConfig.h"
#include "train/SoftPrompt.h"

namespace ptuner::train {

namespace {

bool shared_name(const std::string& name) {
  return name == "embedding" || name == "reparam_in_weight" || name == "reparam_in_bias";
}

}  // namespace

DeepPrompt::DeepPrompt(const DeepOptions& options, const PromptPlace& place, const ParamRate& mlp_rate)
    : o_(options), place_(place), mlp_rate_(mlp_rate) {
  PTUNER_CHECK(o_.encoder || o_.decoder || o_.cross, "a deep prompt needs prefixes somewhere (prompt.deep.encoder, "
                                                     ".decoder or .cross)");
  PTUNER_CHECK(o_.heads % place_.tp_size == 0, "{} heads do not split over tp={}", o_.heads, place_.tp_size);
  const bool reparam = o_.reparam_hidden > 0;
  for (const auto& [name, shape] : global_shapes()) {
    bool mine = reparam && shared_name(name);
    for (const auto& s : slots())
      if (name == s.name || name == s.name + "_weight" || name == s.name + "_bias") mine = owns(s);
    if (mine) p_[name] = register_parameter(name, torch::zeros(shape));
  }
}

std::vector<DeepPrompt::Slot> DeepPrompt::slots() const {
  std::vector<Slot> out;
  if (o_.encoder)
    for (int64_t i = 0; i < o_.encoder_layers; ++i) out.push_back({i, false, "encoder_self_" + std::to_string(i)});
  for (int64_t j = 0; j < o_.decoder_layers; ++j) {
    if (o_.decoder) out.push_back({o_.encoder_layers + j, false, "decoder_self_" + std::to_string(j)});
    if (o_.cross) out.push_back({o_.encoder_layers + j, true, "decoder_cross_" + std::to_string(j)});
  }
  return out;
}

nlohmann::json DeepPrompt::hyper_parameters() const {
  return {{"length", o_.length},   {"encoder", o_.encoder}, {"decoder", o_.decoder},
          {"cross", o_.cross},     {"reparam_hidden", o_.reparam_hidden}};
}

std::map<std::string, std::vector<int64_t>> DeepPrompt::global_shapes() const {
  std::map<std::string, std::vector<int64_t>> s;
  const int64_t p = o_.length, h = o_.reparam_hidden;
  if (h > 0) {
    s["embedding"] = {p, o_.d_model};
    s["reparam_in_weight"] = {h, o_.d_model};
    s["reparam_in_bias"] = {h};
  }
  for (const auto& slot : slots()) {
    if (h > 0) {
      s[slot.name + "_weight"] = {2, o_.heads, o_.d_kv, h};
      s[slot.name + "_bias"] = {2, o_.heads, o_.d_kv};
    } else {
      s[slot.name] = {2, o_.heads, p, o_.d_kv};
    }
  }
  return s;
}

bool DeepPrompt::pp_shared(const std::string& name) const { return o_.reparam_hidden > 0 && shared_name(name); }

ParamRate DeepPrompt::rate(const std::string& name) const {
  // The reparameterisation MLP trains at its own rate; the table and plain prefixes at optim.lr.
  return o_.reparam_hidden > 0 && name != "embedding" ? mlp_rate_ : base_rate_;
}

torch::Tensor DeepPrompt::hidden() const {
  return torch::tanh(torch::addmm(p_.at("reparam_in_bias"), p_.at("embedding"), p_.at("reparam_in_weight").t()));
}

torch::Tensor DeepPrompt::prefix_heads(const Slot& s, const torch::Tensor& hid, int64_t first, int64_t n) const {
  if (o_.reparam_hidden == 0) return p_.at(s.name).narrow(1, first, n);  // [2, n, p, d_kv]
  auto w = p_.at(s.name + "_weight").narrow(1, first, n);               // [2, n, d_kv, h]
  auto b = p_.at(s.name + "_bias").narrow(1, first, n);                 // [2, n, d_kv]
  return (torch::matmul(w, hid.t()) + b.unsqueeze(-1)).transpose(-1, -2);  // [2, n, p, d_kv]
}

torch::Tensor DeepPrompt::prefix(const Slot& s) const {
  PTUNER_CHECK(owns(s), "deep prompt slot {} is not on this stage", s.name);
  return prefix_heads(s, o_.reparam_hidden > 0 ? hidden() : torch::Tensor(), 0, o_.heads);
}

mp::PromptInjection DeepPrompt::injection(const mp::MicroBatch&) {
  mp::PromptInjection inj;
  const int64_t local = o_.heads / place_.tp_size, first = place_.tp_rank * local;
  torch::Tensor hid;
  for (const auto& s : slots()) {
    if (!owns(s)) continue;
    if (o_.reparam_hidden > 0 && !hid.defined()) hid = hidden();
    auto kv = prefix_heads(s, hid, first, local).unsqueeze(1);  // [2, 1, local, p, d_kv]
    mp::KvPrefix prefix{kv[0], kv[1], {}};
    if (score_bias_) prefix.bias = torch::full({1, 1, 1, o_.length}, *score_bias_, kv.options().requires_grad(false));
    (s.cross ? inj.cross_kv : inj.self_kv)[s.block] = prefix;
  }
  return inj;
}

PlainPrompt DeepPrompt::plain() const {
  if (o_.reparam_hidden == 0) return PromptMethod::plain();
  torch::NoGradGuard no_grad;
  PlainPrompt out;
  out.overrides = {"prompt.deep.reparam_hidden=0"};
  const auto hid = hidden();
  for (const auto& s : slots()) {
    PTUNER_CHECK(owns(s), "a deep prompt's plain form needs every stage's slots (slot {} is elsewhere)", s.name);
    out.params[s.name] = prefix_heads(s, hid, 0, o_.heads).detach().cpu().contiguous();
  }
  return out;
}

void DeepPrompt::initialise(const PromptMethodArgs& a) {
  torch::NoGradGuard no_grad;
  const auto& c = a.config;
  const auto init = SoftPromptInit::of(c);
  const int64_t p = o_.length, d = o_.d_model;
  auto uniform_bound = [](int64_t fan_in) { return 1.0 / std::sqrt(static_cast<double>(fan_in)); };
  const auto all = slots();
  if (o_.reparam_hidden == 0 && init.kind == "uniform") {
    // The K/V values themselves, a generator per slot (the same at every layout).
    for (size_t i = 0; i < all.size(); ++i) {
      if (!owns(all[i])) continue;
      auto gen = at::detail::createCPUGenerator(c.train.seed + 1 + i);
      p_.at(all[i].name).copy_(torch::empty({2, o_.heads, p, o_.d_kv}).uniform_(-0.5, 0.5, gen));
    }
    return;
  }
  // The rows R, made where the embedding is and shared along the pipeline (collective).
  auto rows = place_.holds_embedding ? initial_rows(init, p, d, *a.tokenizer, a.embed) : torch::zeros({p, d});
  rows = a.share_rows ? a.share_rows(rows) : rows;
  if (o_.reparam_hidden > 0) {
    const int64_t h = o_.reparam_hidden;
    p_.at("embedding").copy_(rows);
    auto gen = at::detail::createCPUGenerator(c.train.seed + 1);
    p_.at("reparam_in_weight").copy_(torch::empty({h, d}).uniform_(-uniform_bound(d), uniform_bound(d), gen));
    p_.at("reparam_in_bias").copy_(torch::empty({h}).uniform_(-uniform_bound(d), uniform_bound(d), gen));
    for (size_t i = 0; i < all.size(); ++i) {
      if (!owns(all[i])) continue;
      auto g = at::detail::createCPUGenerator(c.train.seed + 2 + i);
      const double b = uniform_bound(h);
      p_.at(all[i].name + "_weight").copy_(torch::empty({2, o_.heads, o_.d_kv, h}).uniform_(-b, b, g));
      p_.at(all[i].name + "_bias").copy_(torch::empty({2, o_.heads, o_.d_kv}).uniform_(-b, b, g));
    }
    return;
  }
  PTUNER_CHECK(static_cast<bool>(a.project_kv), "deep prompt init '{}' needs the frozen model's K/V projections",
               init.kind);
  // Cross-attention reads the encoder's (normed) output: the rows at unit RMS stand in for it.
  const auto unit = rows * torch::rsqrt(rows.pow(2).mean(-1, true) + 1e-6);
  for (const auto& s : all) {
    if (!owns(s)) continue;
    auto [k, v] = a.project_kv(s.block, s.cross ? unit : rows, s.cross);  // [p, heads·d_kv]
    auto heads = [&](const torch::Tensor& t) { return t.view({p, o_.heads, o_.d_kv}).transpose(0, 1); };
    p_.at(s.name).copy_(torch::stack({heads(k), heads(v)}));
  }
}

std::shared_ptr<PromptMethod> make_deep_prompt(const PromptMethodArgs& a) {
  const auto& c = a.config;
  DeepOptions o;
  o.length = c.prompt.length;
  o.d_model = a.model.d_model;
  o.heads = a.model.num_heads;
  o.d_kv = a.model.d_kv;
  o.encoder_layers = a.model.num_layers;
  o.decoder_layers = a.model.num_decoder_layers;
  o.encoder = c.prompt.deep.encoder;
  o.decoder = c.prompt.deep.decoder;
  o.cross = c.prompt.deep.cross;
  o.reparam_hidden = c.prompt.deep.reparam_hidden;
  auto prompt =
      std::make_shared<DeepPrompt>(o, a.place, group_rate(c, c.prompt.deep.lr, c.prompt.deep.weight_decay));
  if (a.initialise) prompt->initialise(a);
  return prompt;
}

}  // namespace ptuner::train
