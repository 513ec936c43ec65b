#include "train/PeftAdapter.h"

#include <filesystem>
#include <fmt/ranges.h>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "dist/Check.h"
#include "dist/JsonText.h"
#include "model_parallel/SafetensorsFile.h"
#include "model_parallel/SafetensorsWriter.h"
#include "train/PromptExport.h"

namespace ptuner::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kConfig = "adapter_config.json";
constexpr const char* kWeights = "adapter_model.safetensors";
constexpr const char* kKey = "prompt_embeddings";

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  PTUNER_CHECK(in.good(), "cannot open {}", path);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    PTUNER_FAIL("{} is not JSON: {}", path, e.what());
  }
}

int64_t int_field(const nlohmann::json& j, const char* key, const std::string& path) {
  PTUNER_CHECK(j.contains(key) && j[key].is_number_integer(), "{}: '{}' is missing or not an integer", path, key);
  return j[key].get<int64_t>();
}

}  // namespace

PeftPrompt read_peft_prompt(const std::string& dir) {
  const std::string config_path = dir + "/" + kConfig, weights_path = dir + "/" + kWeights;
  PTUNER_CHECK(fs::exists(config_path), "{} is not a PEFT adapter directory (no {})", dir, kConfig);
  PeftPrompt out;
  out.config = read_json(config_path);
  const auto& c = out.config;
  PTUNER_CHECK(c.value("peft_type", "") == "PROMPT_TUNING", "{}: peft_type is {}, ptuner reads PROMPT_TUNING adapters",
               config_path, c.contains("peft_type") ? c["peft_type"].dump() : "missing");
  PTUNER_CHECK(c.value("task_type", "") == "SEQ_2_SEQ_LM",
               "{}: task_type is {}, a T5 prompt is a SEQ_2_SEQ_LM adapter", config_path,
               c.contains("task_type") ? c["task_type"].dump() : "missing");
  const int64_t n = int_field(c, "num_virtual_tokens", config_path);
  const int64_t d = int_field(c, "token_dim", config_path);
  const int64_t modules = c.contains("num_transformer_submodules") && !c["num_transformer_submodules"].is_null()
                              ? int_field(c, "num_transformer_submodules", config_path)
                              : 2;  // PEFT's default for SEQ_2_SEQ_LM
  PTUNER_CHECK(fs::exists(weights_path), "{}: no {} (adapter_model.bin, a pickle, is not read: save with "
                                         "safe_serialization=True)",
               dir, kWeights);
  mp::SafetensorsFile file(weights_path);
  PTUNER_CHECK(file.contains(kKey), "{} has no tensor '{}' (it has: {})", weights_path, kKey,
               fmt::join(file.names(), ", "));
  auto all = file.load(kKey, torch::kFloat32);
  PTUNER_CHECK(all.dim() == 2 && all.size(0) == n * modules && all.size(1) == d,
               "{}: '{}' has shape {}, its config gives num_virtual_tokens {} × num_transformer_submodules {} by "
               "token_dim {}",
               weights_path, kKey, fmt::join(all.sizes(), "x"), n, modules, d);
  out.rows = all.narrow(0, 0, n).clone();
  out.submodules = modules;
  if (modules > 1)
    spdlog::warn("{}: a {}-submodule adapter; ptuner takes the encoder's {} prompt rows and drops the decoder's {} "
                 "(PEFT's forward prepends them to the decoder input; its generate does not use them)",
                 dir, modules, n, all.size(0) - n);
  return out;
}

void write_peft_adapter(const std::string& dir, const Checkpoint& shallow, const std::string& source) {
  PTUNER_CHECK(shallow.method == "shallow" && shallow.params.count("embedding"),
               "{}: a '{}' prompt has no PEFT PROMPT_TUNING form (only shallow and residual prompts do)", source,
               shallow.method);
  const auto rows = shallow.params.at("embedding").to(torch::kFloat32).contiguous();
  const auto config = RunConfig::from_string(shallow.config_toml, source + " (meta/config)");
  const auto arch = architecture_of(config);
  PTUNER_CHECK(rows.size(1) == arch.d_model, "{}: a prompt of width {} for a model of d_model {}", source,
               rows.size(1), arch.d_model);
  std::string base = config.model.path.empty() ? config.model.preset : config.model.path;
  if (!config.model.path.empty() && fs::exists(config.model.path + "/config.json")) {
    const auto hf = read_json(config.model.path + "/config.json");
    if (hf.contains("_name_or_path") && hf["_name_or_path"].is_string() &&
        !hf["_name_or_path"].get<std::string>().empty())
      base = hf["_name_or_path"].get<std::string>();
  }
  const int64_t n = rows.size(0);
  // Keys as PEFT's asdict(PromptTuningConfig) holds them; nlohmann's objects are sorted, as
  // json.dumps(..., sort_keys=True) writes them.
  nlohmann::json c = {{"auto_mapping", nullptr},
                      {"base_model_name_or_path", base},
                      {"inference_mode", true},
                      {"num_attention_heads", arch.num_heads},
                      {"num_layers", arch.num_layers},
                      {"num_transformer_submodules", 1},
                      {"num_virtual_tokens", n},
                      {"peft_type", "PROMPT_TUNING"},
                      {"prompt_tuning_init", "RANDOM"},
                      {"prompt_tuning_init_text", nullptr},
                      {"revision", nullptr},
                      {"task_type", "SEQ_2_SEQ_LM"},
                      {"token_dim", arch.d_model},
                      {"tokenizer_kwargs", nullptr},
                      {"tokenizer_name_or_path", nullptr}};
  fs::create_directories(dir);
  {
    std::ofstream out(dir + "/" + kConfig);
    PTUNER_CHECK(out.good(), "cannot write {}/{}", dir, kConfig);
    out << ptuner::json_text(c, 2);
  }
  // One submodule: the encoder's prompt, as ptuner trains it.
  mp::write_safetensors(dir + "/" + kWeights, {{kKey, rows}}, {{"format", "pt"}});
}

Checkpoint import_peft_adapter(const std::string& dir, const RunConfig& config) {
  const auto adapter = read_peft_prompt(dir);
  const auto arch = architecture_of(config);
  PTUNER_CHECK(adapter.rows.size(1) == arch.d_model,
               "{}: token_dim {} is not the d_model {} of {}: an adapter of another model", dir,
               adapter.rows.size(1), arch.d_model, config.model.path.empty() ? config.model.preset : config.model.path);
  auto ck = shallow_checkpoint(adapter.rows, config, frozen_fingerprint(config));
  ck.optimizer_name = "none (imported from PEFT adapter " + dir + ")";
  return ck;
}

}  // namespace ptuner::train
