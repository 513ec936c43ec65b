#include "train/ResidualPrompt.h"

#include <cmath>

#include "dist/Check.h"
#include "train/RunConfig.h"
#include "train/SoftPrompt.h"

namespace ptuner::train {

ResidualPrompt::ResidualPrompt(const ResidualOptions& options, bool owner, const ParamRate& mlp_rate)
    : o_(options), mlp_rate_(mlp_rate) {
  PTUNER_CHECK(o_.activation == "relu" || o_.activation == "gelu" || o_.activation == "tanh",
               "prompt.residual.activation '{}' is not one of: relu, gelu, tanh", o_.activation);
  if (!owner) return;
  for (const auto& [name, shape] : global_shapes()) p_[name] = register_parameter(name, torch::zeros(shape));
  if (o_.layer_norm) {
    torch::NoGradGuard no_grad;
    p_.at("ln_weight").fill_(1.0);
  }
}

nlohmann::json ResidualPrompt::hyper_parameters() const {
  return {{"length", o_.length},
          {"bottleneck", o_.bottleneck},
          {"activation", o_.activation},
          {"layer_norm", o_.layer_norm},
          {"shared", o_.shared}};
}

std::map<std::string, std::vector<int64_t>> ResidualPrompt::global_shapes() const {
  const int64_t p = o_.length, d = o_.d_model, h = o_.bottleneck;
  auto per = [&](std::vector<int64_t> s) {  // one MLP per token: a leading [p]
    if (!o_.shared) s.insert(s.begin(), p);
    return s;
  };
  std::map<std::string, std::vector<int64_t>> s = {{"embedding", {p, d}},        {"down_weight", per({h, d})},
                                                   {"down_bias", per({h})},      {"up_weight", per({d, h})},
                                                   {"up_bias", per({d})}};
  if (o_.layer_norm) s["ln_weight"] = per({d}), s["ln_bias"] = per({d});
  return s;
}

torch::Tensor ResidualPrompt::projected() const {
  const auto& P = p_.at("embedding");
  // x [p, in] through W [out, in] (shared) or W [p, out, in] (per token) -> [p, out]
  auto linear = [&](const torch::Tensor& x, const std::string& w, const std::string& b) {
    if (o_.shared) return torch::addmm(p_.at(b), x, p_.at(w).t());
    return torch::bmm(p_.at(w), x.unsqueeze(2)).squeeze(2) + p_.at(b);
  };
  auto h = linear(P, "down_weight", "down_bias");
  h = o_.activation == "relu" ? torch::relu(h) : o_.activation == "gelu" ? torch::gelu(h) : torch::tanh(h);
  h = torch::dropout(h, o_.dropout, is_training());
  auto u = linear(h, "up_weight", "up_bias");
  if (o_.layer_norm) u = torch::layer_norm(u, {o_.d_model}, {}, {}, 1e-5) * p_.at("ln_weight") + p_.at("ln_bias");
  return u + P;
}

mp::PromptInjection ResidualPrompt::injection(const mp::MicroBatch&) {
  mp::PromptInjection inj;
  if (!p_.empty()) inj.encoder_prefix = projected();
  return inj;
}

PlainPrompt ResidualPrompt::plain() const {
  PTUNER_CHECK(!p_.empty(), "a residual prompt's plain form needs the stage holding it");
  torch::NoGradGuard no_grad;
  const bool was_training = is_training();
  const_cast<ResidualPrompt*>(this)->eval();  // no dropout in the folded prompt
  auto folded = projected().detach().cpu().clone();
  if (was_training) const_cast<ResidualPrompt*>(this)->train();
  return {{"prompt.method=\"shallow\""}, {{"embedding", folded}}};
}

void ResidualPrompt::zero_up_projection() {
  torch::NoGradGuard no_grad;
  p_.at("up_weight").zero_();
  p_.at("up_bias").zero_();
}

void ResidualPrompt::initialise(const torch::Tensor& rows, uint64_t seed) {
  torch::NoGradGuard no_grad;
  p_.at("embedding").copy_(rows);
  auto gen = at::detail::createCPUGenerator(seed);
  // torch.nn.Linear's default: weight and bias U(±1/√fan_in).
  auto fill = [&](const std::string& name, int64_t fan_in) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(fan_in));
    auto t = torch::empty(p_.at(name).sizes()).uniform_(-bound, bound, gen);
    p_.at(name).copy_(t);
  };
  fill("down_weight", o_.d_model);
  fill("down_bias", o_.d_model);
  fill("up_weight", o_.bottleneck);
  fill("up_bias", o_.bottleneck);
}

std::shared_ptr<PromptMethod> make_residual_prompt(const PromptMethodArgs& a) {
  const auto& c = a.config;
  ResidualOptions o;
  o.length = c.prompt.length;
  o.d_model = a.model.d_model;
  o.bottleneck = c.prompt.residual.bottleneck;
  o.activation = c.prompt.residual.activation;
  o.layer_norm = c.prompt.residual.layer_norm;
  o.shared = c.prompt.residual.shared;
  o.dropout = c.prompt.residual.dropout;
  auto prompt = std::make_shared<ResidualPrompt>(
      o, a.place.holds_embedding, group_rate(c, c.prompt.residual.lr, c.prompt.residual.weight_decay));
  if (a.place.holds_embedding && a.initialise) {
    prompt->initialise(initial_rows(SoftPromptInit::of(c), o.length, o.d_model, *a.tokenizer, a.embed),
                       c.train.seed + 1);
    // A transferred prompt (SPoT) starts as itself: P' = LN(0) + P = P with a zero up projection.
    if (c.prompt.init == "file") prompt->zero_up_projection();
  }
  return prompt;
}

}  // namespace ptuner::train
