#include "train/ConfigKeys.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "dist/Check.h"

namespace ptuner::train {

namespace {

// The RunConfig field `member` (e.g. data.max_input_length) as a ConfigField.
#define PTUNER_FIELD(member) +[](RunConfig& c) -> auto& { return c.member; }

// Section, name, field, check, doc. The default is the field's value in RunConfig{}.
const std::vector<ConfigKey>& table() {
  static const std::vector<ConfigKey> keys = {
      {"run", "dir", PTUNER_FIELD(run.dir), {},
       "checkpoints, `metrics.jsonl` and the run's lock; a fresh run refuses a dir holding an earlier run (`--overwrite`)"},

      {"model", "path", PTUNER_FIELD(model.path), {},
       "HF model directory (`config.json`, `model.safetensors[.index.json]`, `spiece.model`); this or "
       "`model.preset`"},
      {"model", "preset", PTUNER_FIELD(model.preset), {},
       "a named architecture with random weights (benchmarks, planning); this or `model.path`"},
      {"model", "seed", PTUNER_FIELD(model.seed), {}, "seed of a preset's random weights"},
      {"model", "dtype", PTUNER_FIELD(model.dtype), one_of({"float32", "bfloat16"}), "weights and activations"},
      {"model", "device", PTUNER_FIELD(model.device), one_of({"auto", "cpu", "cuda"}),
       "`cpu`, `cuda` (one GPU per rank: node-local rank mod visible GPUs) or `auto` (CUDA when LibTorch has it "
       "and a GPU is visible)"},
      {"model", "tokenizer", PTUNER_FIELD(model.tokenizer), {},
       "sentencepiece model (empty: `<model.path>/spiece.model`)"},
      {"model", "dropout_rate", PTUNER_FIELD(model.dropout_rate), below(1),
       "≥ 0 overrides config.json's dropout (Lester et al. train with 0); < 0 keeps it"},

      {"data", "train", PTUNER_FIELD(data.train), {}, "training file of `data.task`, plain or gzip"},
      {"data", "dev", PTUNER_FIELD(data.dev), {}, "dev file of `data.task`, plain or gzip"},
      {"data", "task", PTUNER_FIELD(data.task), {},
       "how to read the files: `jsonl` (one `{\"inputs\": …, \"targets\": …}` per line, `\"answers\"`, `\"id\"` "
       "optional) or a benchmark task (above)"},
      {"data", "task_prefix", PTUNER_FIELD(data.task_prefix), {},
       "keep T5's leading task name in the inputs (Lester et al. drop it)"},
      {"data", "bucket_by_length", PTUNER_FIELD(data.bucket_by_length), {},
       "batch examples of similar length (little padding)"},
      {"data", "max_input_length", PTUNER_FIELD(data.max_input_length), positive(),
       "encoder tokens, the prompt included"},
      {"data", "max_target_length", PTUNER_FIELD(data.max_target_length), positive(),
       "decoder tokens (also the decoding limit)"},
      {"data", "on_error", PTUNER_FIELD(data.on_error), one_of({"fail", "skip"}),
       "a malformed record: `fail` (file:line: reason) or `skip` (counted in the metrics)"},
      {"data", "shuffle_buffer", PTUNER_FIELD(data.shuffle_buffer), positive(),
       "records held for shuffling; also the length-bucketing window"},
      {"data", "eval_max_examples", PTUNER_FIELD(data.eval_max_examples), {}, "dev examples to use (0: all)"},
      {"data", "eval_batch_size", PTUNER_FIELD(data.eval_batch_size), at_least(0),
       "rows per evaluation batch on each DP replica (0: the training micro-batch's); evaluation keeps no "
       "activations for backward, but the decoder's cache of cross-attention keys and values grows with it "
       "(`ptuner plan` counts it)"},
      {"data", "eval_method", PTUNER_FIELD(data.eval_method), one_of({"greedy", "rank"}),
       "`greedy` decoding, or `rank` classification over the legal labels"},
      {"data", "prefetch", PTUNER_FIELD(data.prefetch), at_least(0),
       "batches the loader's thread makes ahead of the step (0: made in the step)"},
      {"data", "tokenizer_threads", PTUNER_FIELD(data.tokenizer_threads), at_least(1),
       "threads tokenizing a bucketing window (the batches do not depend on it)"},
      {"data", "mixture", PTUNER_FIELD(data.mixture), {},
       "`[[data.mixture]]` tables with `task`, `train` and an optional `rate` and `dev`: a multi-task mixture "
       "instead of `data.train` (see below); `rate` (> 0, for every entry or none) overrides `data.mixing`; `dev` "
       "files are each evaluated, with their average (instead of `data.dev`)"},
      {"data", "eval_set", PTUNER_FIELD(data.eval_set), {},
       "`[[data.eval_set]]` tables with `dev` and an optional `name` (default: the task) and `task` (default: "
       "`data.task`): further dev sets evaluated beside `data.dev` or the mixture's, as `name/metric` (see below); "
       "not in the mixture's average"},
      {"data", "mixing", PTUNER_FIELD(data.mixing), one_of({"proportional", "temperature"}),
       "`proportional`: rate ∝ min(n, K); `temperature`: rate ∝ min(n, K)^(1/T) (n = a task's training "
       "examples)"},
      {"data", "mixing_cap", PTUNER_FIELD(data.mixing_cap), at_least(1), "K of `data.mixing` (2^19)"},
      {"data", "mixing_temperature", PTUNER_FIELD(data.mixing_temperature), positive(),
       "T of `data.mixing` (`temperature` only)"},

      {"train", "steps", PTUNER_FIELD(train.steps), positive(), "optimizer steps"},
      {"train", "batch_size", PTUNER_FIELD(train.batch_size), positive(),
       "global examples per optimizer step; must divide by `dp × grad_accum × micro_batches`"},
      {"train", "grad_accum", PTUNER_FIELD(train.grad_accum), positive(),
       "pipeline flushes per step on each DP rank"},
      {"train", "seed", PTUNER_FIELD(train.seed), {}, "data order, prompt init, dropout"},
      {"train", "log_every", PTUNER_FIELD(train.log_every), positive(), "steps between log lines"},
      {"train", "eval_every", PTUNER_FIELD(train.eval_every), at_least(0),
       "steps between dev evaluations (0: none)"},
      {"train", "save_every", PTUNER_FIELD(train.save_every), at_least(0),
       "steps between `checkpoint-last.h5` saves (0: at the end only)"},
      {"train", "save_every_minutes", PTUNER_FIELD(train.save_every_minutes), at_least(0),
       "also save `checkpoint-last.h5` when this many minutes have passed since the last save (0: never): a "
       "hard kill loses at most this much"},
      {"train", "max_nonfinite_steps", PTUNER_FIELD(train.max_nonfinite_steps), at_least(1),
       "a step whose loss or prompt gradient is not finite is skipped (no update, counted in `metrics.jsonl`); "
       "this many in a row stop the run with an error"},
      {"train", "auto_resume", PTUNER_FIELD(train.auto_resume), one_of({"slurm", "always", "never"}),
       "continue from `run.dir/checkpoint-last.h5` without `--resume` when it exists: `slurm` inside a Slurm job "
       "only (a requeued job resumes by itself), `always`, or `never`; a changed config is refused as with "
       "`--resume`"},
      {"train", "best_metric", PTUNER_FIELD(train.best_metric), {},
       "keeps `checkpoint-best.h5` by this dev metric (`auto`: a mixture's `average`, else accuracy, else "
       "exact_match, else f1 of the main dev set; a mixture's task metric as `task/metric`, a "
       "`[[data.eval_set]]` metric as `name/metric`)"},
      {"train", "z_loss", PTUNER_FIELD(train.z_loss), at_least(0), "z-loss coefficient (Lester et al.: 1e-4)"},
      {"train", "recompute", PTUNER_FIELD(train.recompute), {}, "recompute each block's activations in backward"},

      {"prompt", "method", PTUNER_FIELD(prompt.method), {},
       "`shallow` (Lester et al.), `residual` (Razdaibiedina et al.) or `deep` (P-tuning v2 / prefix tuning): a "
       "registered name; an unknown one lists the known ones"},
      {"prompt", "length", PTUNER_FIELD(prompt.length), positive(),
       "prompt tokens (below `data.max_input_length`); `deep`: key/value rows per layer"},
      {"prompt", "init", PTUNER_FIELD(prompt.init),
       one_of({"uniform", "sampled-vocab", "class-labels", "text", "file"}),
       "`uniform` in [-0.5, 0.5], `sampled-vocab` (`prompt.sample_top`), `class-labels` "
       "(`prompt.class_labels`), `text` (`prompt.init_text`), `file` (SPoT transfer: `prompt.init_file`); `deep` "
       "prefixes: the frozen layer's own K/V of those rows (`uniform`: the K/V values themselves)"},
      {"prompt", "init_file", PTUNER_FIELD(prompt.init_file), {},
       "the source prompt of `prompt.init = \"file\"`: a ptuner checkpoint (its shallow form; one trained on "
       "another frozen model is refused) or a HF PEFT prompt-tuning adapter directory"},
      {"prompt", "init_file_resize", PTUNER_FIELD(prompt.init_file_resize), one_of({"none", "truncate", "tile"}),
       "a source prompt of another length: `none` refuses, `truncate` keeps its first `prompt.length` tokens, "
       "`tile` repeats it"},
      {"prompt", "init_text", PTUNER_FIELD(prompt.init_text), {}, "the text of `prompt.init = \"text\"`"},
      {"prompt", "class_labels", PTUNER_FIELD(prompt.class_labels), {},
       "the labels of `prompt.init = \"class-labels\"`; also `rank` evaluation's when the task has none"},
      {"prompt", "sample_top", PTUNER_FIELD(prompt.sample_top), {},
       "`sampled-vocab` draws from this many most common tokens"},
      {"prompt.residual", "bottleneck", PTUNER_FIELD(prompt.residual.bottleneck), positive(),
       "`residual`: the MLP's hidden width (ResPT: 400 for T5-base)"},
      {"prompt.residual", "activation", PTUNER_FIELD(prompt.residual.activation), one_of({"relu", "gelu", "tanh"}),
       "`residual`: the MLP's activation"},
      {"prompt.residual", "layer_norm", PTUNER_FIELD(prompt.residual.layer_norm), {},
       "`residual`: LayerNorm on the MLP's output (P' = LN(MLP(P)) + P)"},
      {"prompt.residual", "shared", PTUNER_FIELD(prompt.residual.shared), {},
       "`residual`: one MLP for every prompt token (else one per token)"},
      {"prompt.residual", "dropout", PTUNER_FIELD(prompt.residual.dropout), below(1),
       "`residual`: dropout after the MLP's activation (training only)"},
      {"prompt.residual", "lr", PTUNER_FIELD(prompt.residual.lr), at_least(0),
       "`residual`: the MLP's peak learning rate, on `optim.schedule` (0: `optim.lr`)"},
      {"prompt.residual", "weight_decay", PTUNER_FIELD(prompt.residual.weight_decay), {},
       "`residual`: the MLP's weight decay (< 0: `optim.weight_decay`)"},
      {"prompt.deep", "encoder", PTUNER_FIELD(prompt.deep.encoder), {},
       "`deep`: key/value prefixes in every encoder block's self-attention"},
      {"prompt.deep", "decoder", PTUNER_FIELD(prompt.deep.decoder), {},
       "`deep`: ... in every decoder block's self-attention"},
      {"prompt.deep", "cross", PTUNER_FIELD(prompt.deep.cross), {},
       "`deep`: ... in every decoder block's cross-attention"},
      {"prompt.deep", "reparam_hidden", PTUNER_FIELD(prompt.deep.reparam_hidden), at_least(0),
       "`deep`: prefix tuning's reparameterisation, Linear(d, h)–tanh–Linear(h, 2·layers·heads·d_kv) of a "
       "`[length, d_model]` table, width h (0: the prefixes are the parameters)"},
      {"prompt.deep", "lr", PTUNER_FIELD(prompt.deep.lr), at_least(0),
       "`deep`: the reparameterisation MLP's peak learning rate (0: `optim.lr`)"},
      {"prompt.deep", "weight_decay", PTUNER_FIELD(prompt.deep.weight_decay), {},
       "`deep`: the MLP's weight decay (< 0: `optim.weight_decay`)"},

      {"optim", "name", PTUNER_FIELD(optim.name), one_of({"adafactor", "adamw"}), "the optimizer"},
      {"optim", "lr", PTUNER_FIELD(optim.lr), positive(), "learning rate"},
      {"optim", "schedule", PTUNER_FIELD(optim.schedule),
       one_of({"constant", "warmup-constant", "warmup-linear", "warmup-rsqrt"}),
       "learning-rate schedule; the `warmup-*` ones warm up over `optim.warmup_steps`"},
      {"optim", "warmup_steps", PTUNER_FIELD(optim.warmup_steps), at_least(0), "warm-up steps"},
      {"optim", "decay_rate", PTUNER_FIELD(optim.decay_rate), {}, "Adafactor (T5X semantics): second-moment decay"},
      {"optim", "clipping_threshold", PTUNER_FIELD(optim.clipping_threshold), {}, "Adafactor: update clipping"},
      {"optim", "weight_decay", PTUNER_FIELD(optim.weight_decay), {}, "Adafactor and AdamW"},
      {"optim", "factored", PTUNER_FIELD(optim.factored), {}, "Adafactor: factored second moments"},
      {"optim", "beta1", PTUNER_FIELD(optim.beta1), {}, "AdamW"},
      {"optim", "beta2", PTUNER_FIELD(optim.beta2), {}, "AdamW"},
      {"optim", "eps", PTUNER_FIELD(optim.eps), {}, "AdamW"},

      {"dist", "timeout_s", PTUNER_FIELD(dist.timeout_s), {},
       "hang watchdog of the MPI path: a collective or point-to-point call that waits longer logs the operation, "
       "its group and the ranks it waited for, and aborts the job (≤ 0: no limit)"},
      {"parallel", "tp", PTUNER_FIELD(parallel.tp), positive(),
       "tensor-parallel ranks; `tp·pp·dp` must equal the number of ranks"},
      {"parallel", "pp", PTUNER_FIELD(parallel.pp), positive(), "pipeline stages"},
      {"parallel", "dp", PTUNER_FIELD(parallel.dp), positive(), "data-parallel replicas"},
      {"parallel", "micro_batches", PTUNER_FIELD(pipeline.micro_batches), positive(),
       "pipeline micro-batches per step (and per `train.grad_accum` flush)"},
      {"parallel", "schedule", PTUNER_FIELD(pipeline.schedule), one_of({"1f1b", "gpipe"}), "pipeline schedule"},
      {"parallel", "stage_blocks", PTUNER_FIELD(pipeline.stage_blocks), {},
       "blocks per pipeline stage, e.g. `[14, 10, 12, 12]` (empty: balanced)"},
  };
  return keys;
}

#undef PTUNER_FIELD

template <typename T>
using Plain = std::remove_cv_t<std::remove_reference_t<T>>;

// A TOML basic string: "…" with quotes, backslashes and control characters escaped.
std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
      out += fmt::format("\\u{:04X}", static_cast<unsigned char>(ch));
    else
      out += ch;
  }
  return out + "\"";
}

// Shortest TOML float that reads back as the same double ("0.3", "1e-5", "-1.0").
std::string toml_double(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".ein") == std::string::npos) s += ".0";
  for (auto pos = s.find("e-0"); pos != std::string::npos; pos = s.find("e-0")) s.erase(pos + 2, 1);
  for (auto pos = s.find("e+"); pos != std::string::npos; pos = s.find("e+")) s.erase(pos + 1, 1);
  return s;
}

template <typename T>
std::string toml_of(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) {
    return toml_string(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_integral_v<T>) {
    return fmt::format("{}", v);
  } else if constexpr (std::is_floating_point_v<T>) {
    return toml_double(v);
  } else if constexpr (std::is_same_v<T, RunConfig::Data::MixtureEntry>) {
    std::string s = "{task = " + toml_string(v.task) + ", train = " + toml_string(v.train);
    if (v.rate > 0) s += ", rate = " + toml_double(v.rate);
    if (!v.dev.empty()) s += ", dev = " + toml_string(v.dev);
    return s + "}";
  } else if constexpr (std::is_same_v<T, RunConfig::Data::EvalSetEntry>) {
    std::string s = "{dev = " + toml_string(v.dev);
    if (!v.name.empty()) s += ", name = " + toml_string(v.name);
    if (!v.task.empty()) s += ", task = " + toml_string(v.task);
    return s + "}";
  } else {
    std::string s;
    for (const auto& e : v) s += (s.empty() ? "" : ", ") + toml_of(e);
    return "[" + s + "]";
  }
}

// A value as the README's default column shows it: in backticks, strings without quotes, "—" when empty.
std::string shown_default(const ConfigKey& key) {
  return std::visit(
      [&](auto field) -> std::string {
        RunConfig c;
        const auto& v = field(c);
        using T = Plain<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return v.empty() ? "—" : "`" + v + "`";
        } else if constexpr (std::is_same_v<T, bool> || std::is_arithmetic_v<T>) {
          return "`" + toml_of(v) + "`";
        } else {
          return v.empty() ? "—" : "`" + toml_of(v) + "`";
        }
      },
      key.field);
}

}  // namespace

ConfigCheck one_of(std::vector<std::string> choices) {
  ConfigCheck c;
  c.kind = ConfigCheck::Kind::OneOf;
  c.choices = std::move(choices);
  return c;
}

ConfigCheck positive() {
  ConfigCheck c;
  c.kind = ConfigCheck::Kind::Positive;
  return c;
}

ConfigCheck at_least(double bound) {
  ConfigCheck c;
  c.kind = ConfigCheck::Kind::AtLeast;
  c.bound = bound;
  return c;
}

ConfigCheck below(double bound) {
  ConfigCheck c;
  c.kind = ConfigCheck::Kind::Below;
  c.bound = bound;
  return c;
}

std::string ConfigCheck::str() const {
  switch (kind) {
    case Kind::None:
      return "";
    case Kind::OneOf: {
      std::string s;
      for (const auto& c : choices) s += (s.empty() ? "" : ", ") + ("`" + c + "`");
      return "one of " + s;
    }
    case Kind::Positive:
      return "> 0";
    case Kind::AtLeast:
      return fmt::format("≥ {}", bound);
    case Kind::Below:
      return fmt::format("< {}", bound);
  }
  return "";
}

std::string ConfigKey::type() const {
  return std::visit(
      [](auto field) -> std::string {
        using T = Plain<decltype(field(std::declval<RunConfig&>()))>;
        if constexpr (std::is_same_v<T, std::string>) return "string";
        else if constexpr (std::is_same_v<T, bool>) return "bool";
        else if constexpr (std::is_same_v<T, uint64_t>) return "uint";
        else if constexpr (std::is_integral_v<T>) return "int";
        else if constexpr (std::is_floating_point_v<T>) return "double";
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) return "string array";
        else if constexpr (std::is_same_v<T, std::vector<int64_t>>) return "int array";
        else return "array of tables";
      },
      field);
}

// The fields are bound for writing (RunConfig&); these two only read through them.
std::string ConfigKey::toml_value(const RunConfig& c) const {
  return std::visit([&](auto f) { return toml_of(f(const_cast<RunConfig&>(c))); }, field);
}

void ConfigKey::validate(const RunConfig& c) const {
  const std::string& s = c.source;
  const std::string key = path();
  // Every number must be finite (an inf learning rate or a NaN decay runs to the end in NaN).
  std::visit(
      [&](auto f) {
        const auto& v = f(const_cast<RunConfig&>(c));
        using T = Plain<decltype(v)>;
        if constexpr (std::is_floating_point_v<T>)
          PTUNER_CHECK(std::isfinite(v), "{}: {} must be a finite number, got {}", s, key, v);
      },
      field);
  if (check.kind == ConfigCheck::Kind::None) return;
  std::visit(
      [&](auto f) {
        const auto& v = f(const_cast<RunConfig&>(c));
        using T = Plain<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          PTUNER_CHECK(check.kind == ConfigCheck::Kind::OneOf, "config key {}: a string takes only a one-of check",
                       key);
          if (std::find(check.choices.begin(), check.choices.end(), v) != check.choices.end()) return;
          std::string names;
          for (const auto& n : check.choices) names += (names.empty() ? "" : ", ") + n;
          PTUNER_FAIL("{}: {} '{}' is not one of: {}", s, key, v, names);
        } else if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
          const double x = static_cast<double>(v);
          switch (check.kind) {
            case ConfigCheck::Kind::Positive:
              PTUNER_CHECK(x > 0, "{}: {} must be positive, got {}", s, key, v);
              return;
            case ConfigCheck::Kind::AtLeast:
              PTUNER_CHECK(x >= check.bound, "{}: {} must be >= {}, got {}", s, key, check.bound, v);
              return;
            case ConfigCheck::Kind::Below:
              PTUNER_CHECK(x < check.bound, "{}: {} must be below {}, got {}", s, key, check.bound, v);
              return;
            default:
              PTUNER_FAIL("config key {}: a number takes a range check, not one-of", key);
          }
        } else {
          PTUNER_FAIL("config key {} ({}) takes no check", key, type());
        }
      },
      field);
}

const std::vector<ConfigKey>& config_keys() { return table(); }

std::vector<std::string> config_key_names(const std::string& section) {
  std::vector<std::string> names;
  for (const auto& k : config_keys())
    if (k.section == section) names.push_back(k.name);
  std::sort(names.begin(), names.end());
  return names;
}

std::string config_keys_markdown() {
  std::string out = "| key | type | default | check | meaning |\n|---|---|---|---|---|\n";
  for (const auto& k : config_keys())
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", k.path(), k.type(), shown_default(k), k.check.str(), k.doc);
  return out;
}

}  // namespace ptuner::train
