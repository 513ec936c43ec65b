#include "train/RunConfig.h"

#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>
#include <variant>

#include "data/Task.h"
#include "dist/Check.h"
#include "train/ConfigKeys.h"
#include "train/PromptMethod.h"

namespace ptuner::train {

namespace {

// Whether some key lives in `section` or below it ("prompt" for prompt.residual.bottleneck).
bool known_section(const std::string& section) {
  for (const auto& k : config_keys())
    if (k.section == section || k.section.rfind(section + ".", 0) == 0) return true;
  return false;
}

// Every key of the table at `section` (and its sub-sections, e.g. [prompt.residual]) is known.
void check_section(const toml::table& table, const std::string& s, const std::string& source) {
  const auto names = config_key_names(s);
  for (const auto& [key, value] : table) {
    const std::string k(key.str());
    if (std::find(names.begin(), names.end(), k) != names.end()) continue;
    if (known_section(s + "." + k)) {
      PTUNER_CHECK(value.is_table(), "{}: '{}.{}' must be a section ([{}.{}])", source, s, k, s, k);
      check_section(*value.as_table(), s + "." + k, source);
      continue;
    }
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    PTUNER_FAIL("{}: unknown key '{}.{}' (known keys of [{}]: {})", source, s, k, s, known);
  }
}

void check_known(const toml::table& root, const std::string& source) {
  for (const auto& [section, node] : root) {
    const std::string s(section.str());
    PTUNER_CHECK(known_section(s), "{}: unknown section [{}]", source, s);
    PTUNER_CHECK(node.is_table(), "{}: '{}' must be a section ([{}])", source, s, s);
    check_section(*node.as_table(), s, source);
  }
}

std::vector<std::string> split_dots(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', start)) {
    parts.push_back(path.substr(start, dot - start));
    start = dot + 1;
  }
  parts.push_back(path.substr(start));
  return parts;
}

// The value of key `name` in (dotted) `section`, or nullptr.
const toml::node* find_value(const toml::table& root, const std::string& section, const std::string& name) {
  const toml::table* t = &root;
  for (const auto& part : split_dots(section)) {
    const auto* next = t->get(part);
    if (!next || !next->is_table()) return nullptr;
    t = next->as_table();
  }
  return t->get(name);
}

// One `section.key=value` override; the value is TOML (a bare word is taken as a string).
void apply_override(toml::table& root, const std::string& item, const std::string& source) {
  const auto eq = item.find('=');
  PTUNER_CHECK(eq != std::string::npos, "--set '{}': expected section.key=value", item);
  const std::string path = item.substr(0, eq), value = item.substr(eq + 1);
  const auto dot = path.rfind('.');
  PTUNER_CHECK(dot != std::string::npos && dot > 0 && dot + 1 < path.size(),
               "--set '{}': the key must be section.key (e.g. train.steps)", item);
  const std::string section = path.substr(0, dot), key = path.substr(dot + 1);
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + value);
  } catch (const toml::parse_error&) {
    parsed = toml::table{{"v", value}};
  }
  toml::table* t = &root;
  std::string walked;
  for (const auto& part : split_dots(section)) {
    walked += (walked.empty() ? "" : ".") + part;
    PTUNER_CHECK(!part.empty(), "--set '{}': empty section name in '{}'", item, section);
    if (!t->contains(part)) t->insert(part, toml::table{});
    PTUNER_CHECK((*t)[part].is_table(), "{}: '{}' is not a section", source, walked);
    t = (*t)[part].as_table();
  }
  t->insert_or_assign(key, *parsed["v"].node());
}

// An array of tables ([[data.mixture]], [[data.eval_set]]): each a table of known keys only.
// `what` says what a table holds, for the errors; an empty array is one only where `may_be_empty`.
std::vector<const toml::table*> table_array(const toml::node& node, const std::string& key, const std::string& what,
                                            const std::set<std::string>& known, bool may_be_empty,
                                            const std::string& source) {
  const auto* arr = node.as_array();
  PTUNER_CHECK(arr, "{}: {} must be an array of tables ([[{}]] with {})", source, key, key, what);
  PTUNER_CHECK(may_be_empty || !arr->empty(), "{}: {} is empty: give at least one [[{}]] with {}", source, key, key,
               what);
  std::vector<const toml::table*> out;
  for (size_t i = 0; i < arr->size(); ++i) {
    const auto* t = (*arr)[i].as_table();
    PTUNER_CHECK(t, "{}: {}[{}] must be a table with {}", source, key, i, what);
    for (const auto& [name, value] : *t) {
      const std::string k(name.str());
      PTUNER_CHECK(known.count(k), "{}: unknown key '{}[{}].{}' (known keys of [[{}]]: {})", source, key, i, k, key,
                   fmt::join(known, ", "));
    }
    out.push_back(t);
  }
  return out;
}

// table[name] as a non-empty string into `out`, when the table has it; required: it must.
void table_string(const toml::table& t, const char* name, bool required, std::string& out, const std::string& key,
                  size_t i, const std::string& source) {
  if (!required && !t.contains(name)) return;
  auto v = t[name].value<std::string>();
  PTUNER_CHECK(v.has_value() && !v->empty(), "{}: {}[{}].{} must be {}", source, key, i, name,
               required ? "set (a non-empty string)" : "a non-empty string");
  out = *v;
}

// [[data.mixture]]: each with task, train and an optional rate and dev.
void read_mixture(const toml::node& node, std::vector<RunConfig::Data::MixtureEntry>& out,
                  const std::string& source) {
  const std::string key = "data.mixture";
  out.clear();
  const auto tables = table_array(node, key, "task and train", {"task", "train", "rate", "dev"}, false, source);
  for (size_t i = 0; i < tables.size(); ++i) {
    const auto& t = *tables[i];
    RunConfig::Data::MixtureEntry e;
    table_string(t, "task", true, e.task, key, i, source);
    table_string(t, "train", true, e.train, key, i, source);
    if (auto r = t["rate"]) {
      auto v = r.value<double>();
      PTUNER_CHECK(v.has_value() && *v > 0, "{}: data.mixture[{}].rate must be a number > 0", source, i);
      e.rate = *v;
    }
    table_string(t, "dev", false, e.dev, key, i, source);
    out.push_back(e);
  }
}

// [[data.eval_set]]: each with dev and an optional name and task.
void read_eval_set(const toml::node& node, std::vector<RunConfig::Data::EvalSetEntry>& out,
                   const std::string& source) {
  const std::string key = "data.eval_set";
  out.clear();
  // Empty: no further sets (`--set 'data.eval_set=[]'` drops a config's).
  const auto tables =
      table_array(node, key, "dev (and an optional name and task)", {"name", "task", "dev"}, true, source);
  for (size_t i = 0; i < tables.size(); ++i) {
    RunConfig::Data::EvalSetEntry e;
    table_string(*tables[i], "dev", true, e.dev, key, i, source);
    table_string(*tables[i], "name", false, e.name, key, i, source);
    table_string(*tables[i], "task", false, e.task, key, i, source);
    out.push_back(e);
  }
}

// One key's TOML value into its field; a value of the wrong type is an error naming the key.
template <typename T>
void read_value(const toml::node& node, const std::string& key, T& out, const std::string& source) {
  if constexpr (std::is_same_v<T, std::string>) {
    auto v = node.value<std::string>();
    PTUNER_CHECK(v.has_value(), "{}: {} must be a string", source, key);
    out = *v;
  } else if constexpr (std::is_same_v<T, bool>) {
    auto v = node.value<bool>();
    PTUNER_CHECK(v.has_value(), "{}: {} must be true or false", source, key);
    out = *v;
  } else if constexpr (std::is_integral_v<T>) {
    PTUNER_CHECK(node.is_integer(), "{}: {} must be an integer", source, key);
    const int64_t v = *node.value<int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      PTUNER_CHECK(v >= 0, "{}: {} must be an integer >= 0, got {}", source, key, v);
    } else if constexpr (sizeof(T) < sizeof(int64_t)) {
      PTUNER_CHECK(v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max(),
                   "{}: {} = {} is out of range", source, key, v);
    }
    out = static_cast<T>(v);
  } else if constexpr (std::is_floating_point_v<T>) {
    auto v = node.value<double>();
    PTUNER_CHECK(v.has_value(), "{}: {} must be a number", source, key);
    out = *v;
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    const auto* arr = node.as_array();
    PTUNER_CHECK(arr, "{}: {} must be an array of strings", source, key);
    out.clear();
    for (const auto& e : *arr) {
      auto v = e.value<std::string>();
      PTUNER_CHECK(v.has_value(), "{}: {} must be an array of strings", source, key);
      out.push_back(*v);
    }
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    const auto* arr = node.as_array();
    PTUNER_CHECK(arr, "{}: {} must be an array of integers", source, key);
    out.clear();
    for (const auto& e : *arr) {
      PTUNER_CHECK(e.is_integer(), "{}: {} must be an array of integers", source, key);
      out.push_back(*e.value<int64_t>());
    }
  } else if constexpr (std::is_same_v<T, std::vector<RunConfig::Data::EvalSetEntry>>) {
    read_eval_set(node, out, source);
  } else {
    static_assert(std::is_same_v<T, std::vector<RunConfig::Data::MixtureEntry>>, "a ConfigField type without a reader");
    read_mixture(node, out, source);
  }
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
                                 const std::vector<std::string>& overrides, bool validate) {
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
  for (const auto& key : config_keys()) {
    const auto* node = find_value(root, key.section, key.name);
    if (!node) continue;
    std::visit([&](auto field) { read_value(*node, key.path(), field(c), source); }, key.field);
  }
  std::stringstream ss;
  ss << root;
  c.toml = ss.str();
  if (validate) c.validate();
  return c;
}

void RunConfig::validate() const {
  const std::string& s = source;
  for (const auto& key : config_keys()) key.validate(*this);
  // Checks across keys.
  PTUNER_CHECK(model.path.empty() != model.preset.empty(), "{}: set exactly one of model.path and model.preset", s);
  PTUNER_CHECK(data.mixture.empty() || data.train.empty(),
               "{}: set data.train (one task) or [[data.mixture]] (several), not both", s);
  for (size_t i = 0; i < data.mixture.size(); ++i) {
    bool known = false;
    for (const auto& spec : data::task_specs()) known = known || spec.name == data.mixture[i].task;
    PTUNER_CHECK(known, "{}: data.mixture[{}].task: unknown task '{}' (known: {})", s, i, data.mixture[i].task,
                 data::known_task_names());
  }
  {
    // A mixture's dev sets: one per task (their metrics are named by task), and not beside data.dev.
    std::map<std::string, size_t> dev_of;
    for (size_t i = 0; i < data.mixture.size(); ++i) {
      if (data.mixture[i].dev.empty()) continue;
      PTUNER_CHECK(data.dev.empty(),
                   "{}: data.mixture[{}].dev and data.dev are both set: a mixture is evaluated on its entries' dev "
                   "files, or on data.dev alone (as data.task), not both",
                   s, i);
      const auto [it, fresh] = dev_of.emplace(data.mixture[i].task, i);
      PTUNER_CHECK(fresh, "{}: data.mixture[{}] and data.mixture[{}] both give a dev file for task '{}': one per task",
                   s, it->second, i, data.mixture[i].task);
    }
  }
  {
    // Further dev sets: a known task, a name of their own (the metrics' prefix) and a main dev set
    // beside them (it selects checkpoint-best unless train.best_metric names one of them).
    std::map<std::string, std::string> named;  // prefix -> what gave it
    for (const auto& m : data.mixture)
      if (!m.dev.empty()) named.emplace(m.task, "the [[data.mixture]] entry of task '" + m.task + "'");
    for (size_t i = 0; i < data.eval_set.size(); ++i) {
      // A mixture's data.task reads no file unless data.dev is set: a set names its own task there.
      PTUNER_CHECK(!data.eval_set[i].task.empty() || data.mixture.empty() || !data.dev.empty(),
                   "{}: data.eval_set[{}].task must be set in a mixture evaluated on its entries' dev files "
                   "(data.task, '{}', reads none of them)",
                   s, i, data.task);
      const auto e = data.eval_set_entry(i);
      bool known = false;
      for (const auto& spec : data::task_specs()) known = known || spec.name == e.task;
      PTUNER_CHECK(known, "{}: data.eval_set[{}].task: unknown task '{}' (known: {})", s, i, e.task,
                   data::known_task_names());
      const bool plain = std::all_of(e.name.begin(), e.name.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-' || ch == '.';
      });
      PTUNER_CHECK(plain && e.name != "average" && e.name != "examples",
                   "{}: data.eval_set[{}].name '{}' cannot name metrics: use letters, digits, '_', '-' and '.', and "
                   "neither 'average' nor 'examples'",
                   s, i, e.name);
      const auto [it, fresh] = named.emplace(e.name, fmt::format("data.eval_set[{}]", i));
      PTUNER_CHECK(fresh, "{}: data.eval_set[{}] is named '{}' as {} is: its metrics would be mixed up (give it a name "
                   "of its own)",
                   s, i, e.name, it->second);
    }
    const bool main_dev =
        !data.dev.empty() || std::any_of(data.mixture.begin(), data.mixture.end(), [](const auto& m) { return !m.dev.empty(); });
    PTUNER_CHECK(data.eval_set.empty() || main_dev,
                 "{}: data.eval_set is evaluated beside a main dev set: set data.dev (or a [[data.mixture]] entry's "
                 "dev) as well",
                 s);
  }
  {
    size_t explicit_rates = 0;
    for (const auto& m : data.mixture) explicit_rates += m.rate > 0 ? 1 : 0;
    PTUNER_CHECK(explicit_rates == 0 || explicit_rates == data.mixture.size(),
                 "{}: data.mixture gives a rate for {} of {} entries: give one for every entry or none", s,
                 explicit_rates, data.mixture.size());
  }
  PTUNER_CHECK(data.mixing == "temperature" || data.mixing_temperature == 1.0,
               "{}: data.mixing_temperature {} applies to data.mixing = \"temperature\" only (data.mixing is \"{}\")",
               s, data.mixing_temperature, data.mixing);
  {
    // The method's encoder rows (a deep prompt adds none); an unknown method is refused later,
    // with the list of known ones.
    const auto known = prompt_method_names();
    const bool registered = std::find(known.begin(), known.end(), canonical_method_name(prompt.method)) != known.end();
    const int64_t rows = registered ? encoder_prefix_rows(*this) : prompt.length;
    PTUNER_CHECK(rows < data.max_input_length,
                 "{}: prompt.length {} leaves no room for input tokens within data.max_input_length {}", s,
                 prompt.length, data.max_input_length);
  }
  PTUNER_CHECK(optim.beta1 >= 0 && optim.beta1 < 1, "{}: optim.beta1 must be in [0, 1), got {}", s, optim.beta1);
  PTUNER_CHECK(optim.beta2 >= 0 && optim.beta2 < 1, "{}: optim.beta2 must be in [0, 1), got {}", s, optim.beta2);
  PTUNER_CHECK(optim.eps > 0, "{}: optim.eps must be positive, got {}", s, optim.eps);
  PTUNER_CHECK(optim.decay_rate > 0, "{}: optim.decay_rate must be positive, got {}", s, optim.decay_rate);
  PTUNER_CHECK(optim.clipping_threshold >= 0, "{}: optim.clipping_threshold must be >= 0 (0: no clipping), got {}",
               s, optim.clipping_threshold);
  PTUNER_CHECK(optim.weight_decay >= 0, "{}: optim.weight_decay must be >= 0, got {}", s, optim.weight_decay);
  PTUNER_CHECK(optim.name != "adafactor" || optim.weight_decay < 1,
               "{}: optim.weight_decay must be below 1 for Adafactor (p <- (1 - wd)·p), got {}", s, optim.weight_decay);
  PTUNER_CHECK(prompt.residual.dropout >= 0, "{}: prompt.residual.dropout must be >= 0, got {}", s,
               prompt.residual.dropout);
  PTUNER_CHECK(train.batch_size % (parallel.dp * train.grad_accum * pipeline.micro_batches) == 0,
               "{}: train.batch_size {} is not divisible by parallel.dp {} × train.grad_accum {} × "
               "parallel.micro_batches {}",
               s, train.batch_size, parallel.dp, train.grad_accum, pipeline.micro_batches);
  PTUNER_CHECK(pipeline.stage_blocks.empty() || static_cast<int>(pipeline.stage_blocks.size()) == parallel.pp,
               "{}: parallel.stage_blocks has {} entries but parallel.pp is {}", s, pipeline.stage_blocks.size(),
               parallel.pp);
  PTUNER_CHECK(prompt.method != "deep" || prompt.deep.encoder || prompt.deep.decoder || prompt.deep.cross,
               "{}: prompt.method = \"deep\" with prompt.deep.encoder, .decoder and .cross all false places no prefix",
               s);
  PTUNER_CHECK(prompt.init != "class-labels" || !prompt.class_labels.empty(),
               "{}: prompt.init = \"class-labels\" needs prompt.class_labels", s);
  PTUNER_CHECK(prompt.init != "text" || !prompt.init_text.empty(), "{}: prompt.init = \"text\" needs prompt.init_text",
               s);
  PTUNER_CHECK(prompt.init != "file" || !prompt.init_file.empty(), "{}: prompt.init = \"file\" needs prompt.init_file",
               s);
}

RunConfig::Data::EvalSetEntry RunConfig::Data::eval_set_entry(size_t i) const {
  auto e = eval_set.at(i);
  if (e.task.empty()) e.task = task;
  if (e.name.empty()) e.name = e.task;
  return e;
}

int64_t RunConfig::micro_batch_size() const {
  return train.batch_size / (parallel.dp * train.grad_accum * pipeline.micro_batches);
}

int64_t RunConfig::eval_batch_size() const {
  return data.eval_batch_size > 0 ? data.eval_batch_size : micro_batch_size();
}

std::string RunConfig::tokenizer_path() const {
  if (!model.tokenizer.empty()) return model.tokenizer;
  PTUNER_CHECK(!model.path.empty(), "{}: model.tokenizer must be set when the model is a preset", source);
  return model.path + "/spiece.model";
}

}  // namespace ptuner::train
