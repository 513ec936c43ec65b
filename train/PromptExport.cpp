#include "train/PromptExport.h"

#include <fmt/ranges.h>

#include "dist/Check.h"
#include "dist/DeviceChoice.h"
#include "train/FrozenModel.h"
#include "model_parallel/WeightStore.h"

namespace ptuner::train {

mp::T5Config architecture_of(const RunConfig& c) {
  return c.model.path.empty() ? mp::T5Config::preset(c.model.preset)
                              : mp::T5Config::from_model_dir(c.model.path, /*shapes_only=*/true);
}

std::shared_ptr<PromptMethod> whole_prompt_method(const RunConfig& config, const mp::T5Config& model) {
  PromptPlace place;
  place.first_block = 0;
  place.end_block = model.num_layers + model.num_decoder_layers;
  PromptMethodArgs args{config, model, place, nullptr, /*initialise=*/false, {}, {}, {}};
  return make_prompt_method(args);
}

Checkpoint shallow_checkpoint(const torch::Tensor& rows, const RunConfig& config, const std::string& fingerprint) {
  PTUNER_CHECK(rows.dim() == 2, "a shallow prompt is [length, d_model], got shape {}", fmt::join(rows.sizes(), "x"));
  const auto shallow = RunConfig::from_string(
      config.toml, config.source, {"prompt.method=\"shallow\"", "prompt.length=" + std::to_string(rows.size(0))});
  auto method = whole_prompt_method(shallow, architecture_of(shallow));
  Checkpoint out;
  out.method = method->method();
  out.prompt_config = method->hyper_parameters().dump();
  out.params = {{"embedding", rows.detach().to(torch::kFloat32).cpu().contiguous()}};
  method->load_parameters(out.params, config.source);  // names and shapes: d_model of this model
  out.optimizer_name = "none (not trained by ptuner)";
  out.config_toml = shallow.toml;
  out.model_fingerprint = fingerprint;
  return out;
}

std::string frozen_fingerprint(const RunConfig& c) {
  auto arch = architecture_of(c);
  if (c.model.dropout_rate >= 0) arch.dropout_rate = c.model.dropout_rate;  // as build_frozen_model
  // Where a run of this config would draw a preset's weights (this process's device choice).
  if (c.model.path.empty()) return frozen_model_fingerprint(arch, c, nullptr, dist::choose_device(c.model.device, 0));
  const mp::WeightStore store(c.model.path);
  return frozen_model_fingerprint(arch, c, &store, torch::kCPU);
}

Checkpoint export_plain(const Checkpoint& ck, const std::string& source) {
  PTUNER_CHECK(!ck.config_toml.empty(), "{} holds no run config (meta/config): cannot tell its prompt's shapes",
               source);
  // The method as the checkpoint names it (files from before the rename say "prompt-tuning").
  const auto config = RunConfig::from_string(ck.config_toml, source + " (meta/config)",
                                  {"prompt.method=\"" + canonical_method_name(ck.method) + "\""});
  const auto model = architecture_of(config);
  auto trained = whole_prompt_method(config, model);
  trained->check_saved(ck.method, ck.prompt_config, source);
  trained->load_parameters(ck.params, source);
  auto plain = trained->plain();

  const auto plain_config = RunConfig::from_string(config.toml, source + " (exported)", plain.overrides);
  auto exported = whole_prompt_method(plain_config, model);
  exported->load_parameters(plain.params, source + " (exported)");  // names and shapes of the plain method

  Checkpoint out;
  out.step = ck.step;
  out.method = exported->method();
  out.prompt_config = exported->hyper_parameters().dump();
  out.params = plain.params;
  out.optimizer_name = "none (exported from " + ck.method + ")";
  out.config_toml = plain_config.toml;
  out.model_fingerprint = ck.model_fingerprint;
  out.best_metric = ck.best_metric;
  out.best_step = ck.best_step;
  return out;
}

}  // namespace ptuner::train
