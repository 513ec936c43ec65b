#include "train/PromptTable.h"

#include <fmt/ranges.h>

#include "dist/Check.h"
#include "train/Spot.h"

namespace ptuner::train {

PromptTable::PromptTable(const std::vector<torch::Tensor>& prompts, bool owner)
    : count_(static_cast<int64_t>(prompts.size())) {
  PTUNER_CHECK(!prompts.empty(), "a prompt table needs at least one prompt");
  length_ = prompts[0].size(0), d_model_ = prompts[0].size(1);
  for (size_t i = 0; i < prompts.size(); ++i)
    PTUNER_CHECK(prompts[i].dim() == 2 && prompts[i].sizes() == prompts[0].sizes(),
                 "prompts of one batch share one shape: prompt {} is {}, prompt 0 is {} (prompt.length, d_model)", i,
                 fmt::join(prompts[i].sizes(), "x"), fmt::join(prompts[0].sizes(), "x"));
  if (owner) table_ = register_parameter("prompts", torch::stack(prompts).to(torch::kFloat32), /*requires_grad=*/false);
}

std::map<std::string, std::vector<int64_t>> PromptTable::global_shapes() const {
  return {{"prompts", {count_, length_, d_model_}}};
}

mp::PromptInjection PromptTable::injection(const mp::MicroBatch& mb) {
  mp::PromptInjection inj;
  if (!table_.defined()) return inj;
  if (!mb.prompt_ids.defined()) {
    PTUNER_CHECK(count_ == 1, "a batch over {} prompts needs each row's prompt id", count_);
    inj.encoder_prefix = table_[0];
    return inj;
  }
  PTUNER_CHECK(mb.prompt_ids.numel() == mb.input_ids.size(0), "{} prompt ids for {} rows", mb.prompt_ids.numel(),
               mb.input_ids.size(0));
  PTUNER_CHECK(mb.prompt_ids.numel() == 0 ||
                   (mb.prompt_ids.min().item<int64_t>() >= 0 && mb.prompt_ids.max().item<int64_t>() < count_),
               "a prompt id outside the table's {} prompts", count_);
  // (The ids come from the host: an asynchronous copy, so that no host sync waits on the device.)
  const auto ids = mb.prompt_ids.to(torch::TensorOptions().device(table_.device()), /*non_blocking=*/true);
  inj.encoder_prefix = table_.index_select(0, ids);  // [B, p, d]
  return inj;
}

std::shared_ptr<PromptTable> load_prompt_table(const std::vector<std::string>& paths, const std::string& fingerprint,
                                               bool holds_embedding, const torch::Device& device) {
  std::vector<torch::Tensor> prompts;
  for (const auto& path : paths) {
    const auto source = read_source_prompt(path);
    PTUNER_CHECK(source.model_fingerprint.empty() || source.model_fingerprint == fingerprint,
                 "prompt {} was trained on another frozen model (fingerprint {}, the config's model has {})", path,
                 source.model_fingerprint, fingerprint);
    prompts.push_back(source.rows);
  }
  auto table = std::make_shared<PromptTable>(prompts, holds_embedding);
  table->to(device);
  return table;
}

}  // namespace ptuner::train
