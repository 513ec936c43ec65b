#include "train/PromptMethod.h"

#include <mutex>

#include "dist/Check.h"
#include "train/RunConfig.h"
#include "train/SoftPrompt.h"

namespace ptuner::train {

namespace {

std::map<std::string, PromptMethodFactory>& registry() {
  static std::map<std::string, PromptMethodFactory> methods = {
      {"prompt-tuning", &make_soft_prompt},
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

namespace {

// The factory config.prompt.method names; an unknown name lists the registered ones.
PromptMethodFactory factory_for(const RunConfig& c) {
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = registry().find(c.prompt.method);
    if (it != registry().end()) return it->second;
  }
  PTUNER_FAIL("{}: prompt.method '{}' is not one of: {}", c.source, c.prompt.method,
              fmt::join(prompt_method_names(), ", "));
}

}  // namespace

void check_prompt_method(const RunConfig& config) { factory_for(config); }

std::shared_ptr<PromptMethod> make_prompt_method(const PromptMethodArgs& args) {
  auto method = factory_for(args.config)(args);
  method->to(args.place.device);
  return method;
}

void register_prompt_method(const std::string& name, PromptMethodFactory factory) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[name] = std::move(factory);
}

std::vector<std::string> prompt_method_names() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::vector<std::string> names;
  for (const auto& [name, f] : registry()) names.push_back(name);
  return names;
}

}  // namespace ptuner::train
