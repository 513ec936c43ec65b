#include "train/PromptExport.h"

#include "dist/Check.h"

namespace ptuner::train {

mp::T5Config architecture_of(const RunConfig& c) {
  return c.model.path.empty() ? mp::T5Config::preset(c.model.preset)
                              : mp::T5Config::from_file(c.model.path + "/config.json");
}

std::shared_ptr<PromptMethod> whole_prompt_method(const RunConfig& config, const mp::T5Config& model) {
  PromptPlace place;
  place.first_block = 0;
  place.end_block = model.num_layers + model.num_decoder_layers;
  PromptMethodArgs args{config, model, place};
  args.initialise = false;
  return make_prompt_method(args);
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
