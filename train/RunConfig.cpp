#include "train/RunConfig.h"

#include <toml++/toml.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "data/Task.h"
#include "dist/Check.h"

namespace ptuner::train {

namespace {

const std::map<std::string, std::set<std::string>>& known_keys() {
  static const std::map<std::string, std::set<std::string>> keys = {
      {"run", {"dir"}},
      {"model", {"path", "preset", "seed", "dtype", "tokenizer", "dropout_rate"}},
      {"data", {"train", "dev", "task", "task_prefix", "bucket_by_length", "max_input_length", "max_target_length", "on_error", "shuffle_buffer",
                "eval_max_examples", "eval_method", "prefetch", "tokenizer_threads", "mixture", "mixing", "mixing_cap",
                "mixing_temperature"}},
      {"train", {"steps", "batch_size", "grad_accum", "seed", "log_every", "eval_every", "save_every",
                 "best_metric", "z_loss", "recompute"}},
      {"prompt", {"method", "length", "init", "init_text", "class_labels", "sample_top"}},
      {"optim", {"name", "lr", "schedule", "warmup_steps", "decay_rate", "clipping_threshold", "weight_decay",
                 "factored", "beta1", "beta2", "eps"}},
      {"parallel", {"tp", "pp", "dp", "micro_batches", "schedule", "stage_blocks"}},
  };
  return keys;
}

void check_known(const toml::table& root, const std::string& source) {
  for (const auto& [section, node] : root) {
    const std::string s(section.str());
    auto it = known_keys().find(s);
    PTUNER_CHECK(it != known_keys().end(), "{}: unknown section [{}]", source, s);
    PTUNER_CHECK(node.is_table(), "{}: '{}' must be a section ([{}])", source, s, s);
    for (const auto& [key, value] : *node.as_table()) {
      const std::string k(key.str());
      if (it->second.count(k)) continue;
      std::string known;
      for (const auto& n : it->second) known += (known.empty() ? "" : ", ") + n;
      PTUNER_FAIL("{}: unknown key '{}.{}' (known keys of [{}]: {})", source, s, k, s, known);
    }
  }
}

// One `section.key=value` override; the value is TOML (a bare word is taken as a string).
void apply_override(toml::table& root, const std::string& item, const std::string& source) {
  const auto eq = item.find('=');
  PTUNER_CHECK(eq != std::string::npos, "--set '{}': expected section.key=value", item);
  const std::string path = item.substr(0, eq), value = item.substr(eq + 1);
  const auto dot = path.find('.');
  PTUNER_CHECK(dot != std::string::npos && dot > 0 && dot + 1 < path.size(),
               "--set '{}': the key must be section.key (e.g. train.steps)", item);
  const std::string section = path.substr(0, dot), key = path.substr(dot + 1);
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    parsed = toml::table{{"v", value}};
  }
  if (!root.contains(section)) root.insert(section, toml::table{});
  PTUNER_CHECK(root[section].is_table(), "{}: '{}' is not a section", source, section);
  root[section].as_table()->insert_or_assign(key, *parsed["v"].node());
}

template <typename T>
void get(const toml::table& root, const char* section, const char* key, T& out, const std::string& source) {
  auto node = root[section][key];
  if (!node) return;
  if constexpr (std::is_same_v<T, std::string>) {
    auto v = node.value<std::string>();
    PTUNER_CHECK(v.has_value(), "{}: {}.{} must be a string", source, section, key);
    out = *v;
  } else if constexpr (std::is_same_v<T, bool>) {
    auto v = node.value<bool>();
    PTUNER_CHECK(v.has_value(), "{}: {}.{} must be true or false", source, section, key);
    out = *v;
  } else if constexpr (std::is_integral_v<T>) {
    PTUNER_CHECK(node.is_integer(), "{}: {}.{} must be an integer", source, section, key);
    out = static_cast<T>(*node.value<int64_t>());
  } else {
    auto v = node.value<double>();
    PTUNER_CHECK(v.has_value(), "{}: {}.{} must be a number", source, section, key);
    out = *v;
  }
}

void get_strings(const toml::table& root, const char* section, const char* key, std::vector<std::string>& out,
                 const std::string& source) {
  auto node = root[section][key];
  if (!node) return;
  const auto* arr = node.as_array();
  PTUNER_CHECK(arr, "{}: {}.{} must be an array of strings", source, section, key);
  out.clear();
  for (const auto& e : *arr) {
    auto v = e.value<std::string>();
    PTUNER_CHECK(v.has_value(), "{}: {}.{} must be an array of strings", source, section, key);
    out.push_back(*v);
  }
}

// [[data.mixture]]: an array of tables, each with task, train and an optional rate.
void get_mixture(const toml::table& root, std::vector<RunConfig::Data::MixtureEntry>& out,
                 const std::string& source) {
  auto node = root["data"]["mixture"];
  if (!node) return;
  const auto* arr = node.as_array();
  PTUNER_CHECK(arr, "{}: data.mixture must be an array of tables ([[data.mixture]] with task and train)",
               source);
  PTUNER_CHECK(!arr->empty(), "{}: data.mixture is empty: give at least one [[data.mixture]] with task and train",
               source);
  const std::set<std::string> known = {"task", "train", "rate"};
  for (size_t i = 0; i < arr->size(); ++i) {
    const auto* t = (*arr)[i].as_table();
    PTUNER_CHECK(t, "{}: data.mixture[{}] must be a table with task and train", source, i);
    for (const auto& [key, value] : *t) {
      const std::string k(key.str());
      PTUNER_CHECK(known.count(k), "{}: unknown key 'data.mixture[{}].{}' (known keys of [[data.mixture]]: rate, task, train)",
                   source, i, k);
    }
    RunConfig::Data::MixtureEntry e;
    for (const auto* key : {"task", "train"}) {
      auto v = (*t)[key].value<std::string>();
      PTUNER_CHECK(v.has_value() && !v->empty(), "{}: data.mixture[{}].{} must be set (a non-empty string)", source,
                   i, key);
      (std::string(key) == "task" ? e.task : e.train) = *v;
    }
    if (auto r = (*t)["rate"]) {
      auto v = r.value<double>();
      PTUNER_CHECK(v.has_value() && *v > 0, "{}: data.mixture[{}].rate must be a number > 0", source, i);
      e.rate = *v;
    }
    out.push_back(e);
  }
}

template <typename T>
void check_one_of(const T& v, std::initializer_list<T> allowed, const char* what) {
  for (const auto& a : allowed)
    if (v == a) return;
  std::string names;
  for (const auto& a : allowed) names += (names.empty() ? "" : ", ") + fmt::format("{}", a);
  PTUNER_FAIL("{} '{}' is not one of: {}", what, v, names);
}

}  // namespace

RunConfig RunConfig::from_file(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  PTUNER_CHECK(in.good(), "cannot open config file {}", path);
  std::stringstream ss;
  ss << in.rdbuf();
  return from_string(ss.str(), path, overrides);
}

RunConfig RunConfig::from_string(const std::string& text, const std::string& source,
                                 const std::vector<std::string>& overrides) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    PTUNER_FAIL("{}:{}:{}: {}", source, e.source().begin.line, e.source().begin.column, e.description());
  }
  for (const auto& o : overrides) apply_override(root, o, source);
  check_known(root, source);

  RunConfig c;
  c.source = source;
  get(root, "run", "dir", c.run.dir, source);
  get(root, "model", "path", c.model.path, source);
  get(root, "model", "preset", c.model.preset, source);
  get(root, "model", "seed", c.model.seed, source);
  get(root, "model", "dtype", c.model.dtype, source);
  get(root, "model", "tokenizer", c.model.tokenizer, source);
  get(root, "model", "dropout_rate", c.model.dropout_rate, source);
  get(root, "data", "train", c.data.train, source);
  get(root, "data", "dev", c.data.dev, source);
  get(root, "data", "task", c.data.task, source);
  get(root, "data", "task_prefix", c.data.task_prefix, source);
  get(root, "data", "bucket_by_length", c.data.bucket_by_length, source);
  get(root, "data", "max_input_length", c.data.max_input_length, source);
  get(root, "data", "max_target_length", c.data.max_target_length, source);
  get(root, "data", "on_error", c.data.on_error, source);
  get(root, "data", "shuffle_buffer", c.data.shuffle_buffer, source);
  get(root, "data", "eval_max_examples", c.data.eval_max_examples, source);
  get(root, "data", "eval_method", c.data.eval_method, source);
  get(root, "data", "prefetch", c.data.prefetch, source);
  get(root, "data", "tokenizer_threads", c.data.tokenizer_threads, source);
  get_mixture(root, c.data.mixture, source);
  get(root, "data", "mixing", c.data.mixing, source);
  get(root, "data", "mixing_cap", c.data.mixing_cap, source);
  get(root, "data", "mixing_temperature", c.data.mixing_temperature, source);
  get(root, "train", "steps", c.train.steps, source);
  get(root, "train", "batch_size", c.train.batch_size, source);
  get(root, "train", "grad_accum", c.train.grad_accum, source);
  get(root, "train", "seed", c.train.seed, source);
  get(root, "train", "log_every", c.train.log_every, source);
  get(root, "train", "eval_every", c.train.eval_every, source);
  get(root, "train", "save_every", c.train.save_every, source);
  get(root, "train", "best_metric", c.train.best_metric, source);
  get(root, "train", "z_loss", c.train.z_loss, source);
  get(root, "train", "recompute", c.train.recompute, source);
  get(root, "prompt", "method", c.prompt.method, source);
  get(root, "prompt", "length", c.prompt.length, source);
  get(root, "prompt", "init", c.prompt.init, source);
  get(root, "prompt", "init_text", c.prompt.init_text, source);
  get_strings(root, "prompt", "class_labels", c.prompt.class_labels, source);
  get(root, "prompt", "sample_top", c.prompt.sample_top, source);
  get(root, "optim", "name", c.optim.name, source);
  get(root, "optim", "lr", c.optim.lr, source);
  get(root, "optim", "schedule", c.optim.schedule, source);
  get(root, "optim", "warmup_steps", c.optim.warmup_steps, source);
  get(root, "optim", "decay_rate", c.optim.decay_rate, source);
  get(root, "optim", "clipping_threshold", c.optim.clipping_threshold, source);
  get(root, "optim", "weight_decay", c.optim.weight_decay, source);
  get(root, "optim", "factored", c.optim.factored, source);
  get(root, "optim", "beta1", c.optim.beta1, source);
  get(root, "optim", "beta2", c.optim.beta2, source);
  get(root, "optim", "eps", c.optim.eps, source);
  get(root, "parallel", "tp", c.parallel.tp, source);
  get(root, "parallel", "pp", c.parallel.pp, source);
  get(root, "parallel", "dp", c.parallel.dp, source);
  get(root, "parallel", "micro_batches", c.pipeline.micro_batches, source);
  get(root, "parallel", "schedule", c.pipeline.schedule, source);
  if (auto* arr = root["parallel"]["stage_blocks"].as_array()) {
    for (const auto& e : *arr) {
      PTUNER_CHECK(e.is_integer(), "{}: parallel.stage_blocks must be an array of integers", source);
      c.pipeline.stage_blocks.push_back(*e.value<int64_t>());
    }
  } else {
    PTUNER_CHECK(!root["parallel"]["stage_blocks"], "{}: parallel.stage_blocks must be an array of integers", source);
  }
  std::stringstream ss;
  ss << root;
  c.toml = ss.str();
  c.validate();
  return c;
}

void RunConfig::validate() const {
  const std::string& s = source;
  PTUNER_CHECK(model.path.empty() != model.preset.empty(), "{}: set exactly one of model.path and model.preset", s);
  check_one_of<std::string>(model.dtype, {"float32", "bfloat16"}, "model.dtype");
  check_one_of<std::string>(data.on_error, {"fail", "skip"}, "data.on_error");
  check_one_of<std::string>(data.mixing, {"proportional", "temperature"}, "data.mixing");
  PTUNER_CHECK(data.mixture.empty() || data.train.empty(),
               "{}: set data.train (one task) or [[data.mixture]] (several), not both", s);
  for (size_t i = 0; i < data.mixture.size(); ++i) {
    bool known = false;
    for (const auto& spec : data::task_specs()) known = known || spec.name == data.mixture[i].task;
    PTUNER_CHECK(known, "{}: data.mixture[{}].task: unknown task '{}' (known: {})", s, i, data.mixture[i].task,
                 data::known_task_names());
  }
  {
    size_t explicit_rates = 0;
    for (const auto& m : data.mixture) explicit_rates += m.rate > 0 ? 1 : 0;
    PTUNER_CHECK(explicit_rates == 0 || explicit_rates == data.mixture.size(),
                 "{}: data.mixture gives a rate for {} of {} entries: give one for every entry or none", s,
                 explicit_rates, data.mixture.size());
  }
  PTUNER_CHECK(data.mixing_cap >= 1, "{}: data.mixing_cap must be >= 1, got {}", s, data.mixing_cap);
  PTUNER_CHECK(data.mixing_temperature > 0, "{}: data.mixing_temperature must be > 0, got {}", s,
               data.mixing_temperature);
  PTUNER_CHECK(data.mixing == "temperature" || data.mixing_temperature == 1.0,
               "{}: data.mixing_temperature {} applies to data.mixing = \"temperature\" only (data.mixing is \"{}\")",
               s, data.mixing_temperature, data.mixing);
  PTUNER_CHECK(data.prefetch >= 0, "{}: data.prefetch must be >= 0, got {}", s, data.prefetch);
  PTUNER_CHECK(data.tokenizer_threads >= 1, "{}: data.tokenizer_threads must be >= 1, got {}", s,
               data.tokenizer_threads);
  check_one_of<std::string>(prompt.method, {"prompt-tuning"}, "prompt.method");
  check_one_of<std::string>(prompt.init, {"uniform", "sampled-vocab", "class-labels", "text"}, "prompt.init");
  check_one_of<std::string>(optim.name, {"adafactor", "adamw"}, "optim.name");
  check_one_of<std::string>(optim.schedule, {"constant", "warmup-constant", "warmup-linear", "warmup-rsqrt"},
                            "optim.schedule");
  const std::pair<const char*, int64_t> positive[] = {
      {"train.steps", train.steps},       {"train.batch_size", train.batch_size},
      {"train.grad_accum", train.grad_accum}, {"train.log_every", train.log_every},
      {"prompt.length", prompt.length},   {"data.max_input_length", data.max_input_length},
      {"data.max_target_length", data.max_target_length}, {"data.shuffle_buffer", data.shuffle_buffer},
      {"parallel.tp", parallel.tp},       {"parallel.pp", parallel.pp},
      {"parallel.dp", parallel.dp}, {"parallel.micro_batches", pipeline.micro_batches}};
  for (const auto& [key, v] : positive) PTUNER_CHECK(v > 0, "{}: {} must be positive, got {}", s, key, v);
  PTUNER_CHECK(train.eval_every >= 0 && train.save_every >= 0 && optim.warmup_steps >= 0,
               "{}: train.eval_every, train.save_every and optim.warmup_steps must be >= 0", s);
  PTUNER_CHECK(model.dropout_rate < 1.0, "{}: model.dropout_rate must be below 1, got {}", s, model.dropout_rate);
  PTUNER_CHECK(optim.lr > 0, "{}: optim.lr must be positive, got {}", s, optim.lr);
  PTUNER_CHECK(train.z_loss >= 0, "{}: train.z_loss must be >= 0, got {}", s, train.z_loss);
  PTUNER_CHECK(prompt.length < data.max_input_length,
               "{}: prompt.length {} leaves no room for input tokens within data.max_input_length {}", s,
               prompt.length, data.max_input_length);
  PTUNER_CHECK(train.batch_size % (parallel.dp * train.grad_accum * pipeline.micro_batches) == 0,
               "{}: train.batch_size {} is not divisible by parallel.dp {} × train.grad_accum {} × "
               "parallel.micro_batches {}",
               s, train.batch_size, parallel.dp, train.grad_accum, pipeline.micro_batches);
  check_one_of<std::string>(pipeline.schedule, {"1f1b", "gpipe"}, "parallel.schedule");
  check_one_of<std::string>(data.eval_method, {"greedy", "rank"}, "data.eval_method");
  PTUNER_CHECK(pipeline.stage_blocks.empty() || static_cast<int>(pipeline.stage_blocks.size()) == parallel.pp,
               "{}: parallel.stage_blocks has {} entries but parallel.pp is {}", s, pipeline.stage_blocks.size(),
               parallel.pp);
  PTUNER_CHECK(prompt.init != "class-labels" || !prompt.class_labels.empty(),
               "{}: prompt.init = \"class-labels\" needs prompt.class_labels", s);
  PTUNER_CHECK(prompt.init != "text" || !prompt.init_text.empty(), "{}: prompt.init = \"text\" needs prompt.init_text",
               s);
}

int64_t RunConfig::micro_batch_size() const {
  return train.batch_size / (parallel.dp * train.grad_accum * pipeline.micro_batches);
}

std::string RunConfig::tokenizer_path() const {
  if (!model.tokenizer.empty()) return model.tokenizer;
  PTUNER_CHECK(!model.path.empty(), "{}: model.tokenizer must be set when the model is a preset", source);
  return model.path + "/spiece.model";
}

}  // namespace ptuner::train
