#include "train/PromptMethod.h"

#include "dist/Check.h"

namespace ptuner::train {

void PromptMethod::load_parameters(const std::map<std::string, torch::Tensor>& values, const std::string& source) {
  torch::NoGradGuard no_grad;
  for (auto& item : named_parameters()) {
    auto it = values.find(item.key());
    PTUNER_CHECK(it != values.end(), "{} has no prompt parameter '{}'", source, item.key());
    PTUNER_CHECK(it->second.sizes() == item.value().sizes(),
                 "{}: prompt parameter '{}' has shape {}, the config gives {} (prompt.length?)", source, item.key(),
                 fmt::join(it->second.sizes(), "x"), fmt::join(item.value().sizes(), "x"));
    item.value().copy_(it->second);
  }
}

}  // namespace ptuner::train
