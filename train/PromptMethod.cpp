#include "train/PromptMethod.h"

#include <fmt/ranges.h>
#include <mutex>

#include "dist/Check.h"
#include "train/DeepPrompt.h"
#include "train/ResidualPrompt.h"
#include "train/RunConfig.h"
#include "train/SoftPrompt.h"

namespace ptuner::train {

namespace {

struct Registered {
  PromptMethodFactory make;
  std::function<int64_t(const RunConfig&)> encoder_rows;
};

std::map<std::string, Registered>& registry() {
  static std::map<std::string, Registered> methods = {
      {"shallow", {&make_soft_prompt, {}}},
      {"residual", {&make_residual_prompt, {}}},
      {"deep", {&make_deep_prompt, [](const RunConfig&) -> int64_t { return 0; }}},
  };
  return methods;
}

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

void PromptMethod::load_parameters(const std::map<std::string, torch::Tensor>& values, const std::string& source) {
  torch::NoGradGuard no_grad;
  const auto shapes = global_shapes();
  std::vector<std::string> names;
  for (const auto& [name, shape] : shapes) names.push_back(name);
  for (const auto& [name, shape] : shapes) {
    auto it = values.find(name);
    PTUNER_CHECK(it != values.end(), "{} has no prompt parameter '{}' (a {} prompt has: {})", source, name, method(),
                 fmt::join(names, ", "));
    PTUNER_CHECK(it->second.sizes().vec() == shape,
                 "{}: prompt parameter '{}' has shape {}, the config gives {} (prompt.length?)", source, name,
                 fmt::join(it->second.sizes(), "x"), fmt::join(shape, "x"));
  }
  for (const auto& [name, value] : values)
    PTUNER_CHECK(shapes.count(name), "{} holds a prompt parameter '{}' that a {} prompt does not have", source, name,
                 method());
  for (auto& item : named_parameters()) item.value().copy_(values.at(item.key()));
}

PlainPrompt PromptMethod::plain() const {
  PTUNER_CHECK(named_parameters().size() == global_shapes().size(),
               "a {} prompt's plain form needs every stage's parameters (this instance holds {} of {})", method(),
               named_parameters().size(), global_shapes().size());
  PlainPrompt out;
  for (const auto& item : named_parameters()) out.params[item.key()] = item.value().detach().cpu().clone();
  return out;
}

void PromptMethod::check_saved(const std::string& saved_method, const std::string& saved_hyper,
                               const std::string& source) const {
  PTUNER_CHECK(canonical_method_name(saved_method) == method(),
               "{} holds a '{}' prompt, the config asks for '{}' (prompt.method)", source, saved_method, method());
  if (saved_hyper.empty()) return;  // written before hyper-parameters were recorded: shapes decide
  nlohmann::json saved;
  try {
    saved = nlohmann::json::parse(saved_hyper);
  } catch (const nlohmann::json::exception& e) {
    PTUNER_FAIL("{}: its prompt hyper-parameters (meta/prompt) are not JSON: {}", source, e.what());
  }
  const auto mine = hyper_parameters();
  for (const auto& [key, value] : mine.items()) {
    PTUNER_CHECK(saved.contains(key), "{}: its {} prompt records no '{}' (the config gives {})", source, method(), key,
                 value.dump());
    PTUNER_CHECK(saved[key] == value, "{}: its {} prompt has {} = {}, the config gives {}", source, method(), key,
                 saved[key].dump(), value.dump());
  }
  for (const auto& [key, value] : saved.items())
    PTUNER_CHECK(mine.contains(key), "{}: its {} prompt has '{}' = {}, which this ptuner's {} prompt does not know",
                 source, method(), key, value.dump(), method());
}

namespace {

// The registration config.prompt.method names; an unknown name lists the registered ones.
Registered registered_for(const RunConfig& c) {
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = registry().find(canonical_method_name(c.prompt.method));
    if (it != registry().end()) return it->second;
  }
  PTUNER_FAIL("{}: prompt.method '{}' is not one of: {}", c.source, c.prompt.method,
              fmt::join(prompt_method_names(), ", "));
}

}  // namespace

void check_prompt_method(const RunConfig& config) { registered_for(config); }

ParamRate group_rate(const RunConfig& c, double lr, double weight_decay) {
  return {lr > 0 ? lr : c.optim.lr, weight_decay >= 0 ? weight_decay : c.optim.weight_decay};
}

int64_t encoder_prefix_rows(const RunConfig& config) {
  const auto r = registered_for(config);
  return r.encoder_rows ? r.encoder_rows(config) : config.prompt.length;
}

std::shared_ptr<PromptMethod> make_prompt_method(const PromptMethodArgs& args) {
  auto method = registered_for(args.config).make(args);
  method->set_base_rate({args.config.optim.lr, args.config.optim.weight_decay});
  method->to(args.place.device);
  return method;
}

void register_prompt_method(const std::string& name, PromptMethodFactory factory,
                            std::function<int64_t(const RunConfig&)> encoder_rows) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[name] = {std::move(factory), std::move(encoder_rows)};
}

std::vector<std::string> prompt_method_names() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::vector<std::string> names;
  for (const auto& [name, r] : registry()) names.push_back(name);
  return names;
}

std::string canonical_method_name(const std::string& saved) { return saved == "prompt-tuning" ? "shallow" : saved; }

}  // namespace ptuner::train
