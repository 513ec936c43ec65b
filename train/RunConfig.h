#pragma once
// A run's configuration, read from TOML. Every key is known: a typo is an error naming the key
// and the file. `--set section.key=value` overrides are applied before validation. The keys, their
// checks and docs are declared in train/ConfigKeys.cpp: a new key is a field here and a line there.
#include <cstdint>
#include <string>
#include <vector>

#include "dist/ParallelState.h"

namespace ptuner::train {

struct RunConfig {
  struct Run {
    std::string dir = "runs/default";
  } run;
  struct Model {
    std::string path;    // HF model directory (config.json, model.safetensors[.index.json], spiece.model)
    std::string preset;  // or a named architecture with random weights (benchmarks, planning)
    uint64_t seed = 0;   // for preset weights
    std::string dtype = "float32";  // float32 | bfloat16
    std::string device = "auto";    // auto | cpu | cuda (one GPU per rank by node-local rank)
    std::string tokenizer;          // default: <path>/spiece.model
    double dropout_rate = -1;       // ≥ 0 overrides config.json's (Lester et al.: 0); < 0 keeps it
  } model;
  struct Data {
    std::string train;
    std::string dev;
    std::string task = "jsonl";   // how to read the files: jsonl, boolq, cb, copa, multirc, record, rte, wic, wsc, axb, axg, mrqa, cola, sst2, mrpc, qqp, stsb, mnli, qnli, glue_rte, wnli
    bool task_prefix = false;     // keep T5's leading task name (Lester et al. drop it)
    bool bucket_by_length = true; // batch examples of similar length (little padding)
    int64_t max_input_length = 512;   // counting the prompt
    int64_t max_target_length = 128;
    std::string on_error = "fail";    // fail | skip
    int64_t shuffle_buffer = 10000;
    int64_t eval_max_examples = 0;    // 0: the whole dev file
    int64_t eval_batch_size = 0;      // rows per evaluation batch on each DP replica (0: micro_batch_size())
    std::string eval_method = "greedy";  // greedy (decode) | rank (score each legal label)
    int64_t prefetch = 4;             // batches made ahead by the loader's thread (0: none)
    int64_t tokenizer_threads = 1;    // threads tokenizing a bucketing window
    // A multi-task training mixture ([[data.mixture]] tables) instead of data.train. Its dev sets:
    // each entry's `dev` (every such task evaluated, with an average: Evaluator.h's
    // evaluate_run), or else data.task and data.dev (one file), not both.
    struct MixtureEntry {
      std::string task;  // required: a task name (as data.task)
      std::string train; // required: its training file
      double rate = 0;   // > 0: an explicit weight (give it for every entry or none)
      std::string dev;   // optional: its dev file
    };
    std::vector<MixtureEntry> mixture;
    // Further dev sets ([[data.eval_set]] tables), evaluated beside the main one (data.dev or the
    // mixture's) at every evaluation, as Lester et al.'s out-of-domain MRQA sets or MNLI's
    // mismatched dev: their metrics are "<name>/<metric>", and they enter neither a mixture's
    // average nor, unless train.best_metric names one of them, the choice of checkpoint-best.
    struct EvalSetEntry {
      std::string name;  // the metrics' prefix; empty: the task's name
      std::string task;  // how to read the file; empty: data.task
      std::string dev;   // required: the dev file
    };
    std::vector<EvalSetEntry> eval_set;
    // eval_set[i] with its defaults filled in (name and task).
    EvalSetEntry eval_set_entry(size_t i) const;
    std::string mixing = "proportional";  // proportional | temperature (T5's rules)
    int64_t mixing_cap = 524288;          // K = 2^19: a task counts min(examples, K)
    double mixing_temperature = 1.0;      // T ("temperature" only): rates ∝ min(n, K)^(1/T)
  } data;
  struct Train {
    int64_t steps = 1000;
    int64_t batch_size = 32;   // global examples per optimizer step
    int64_t grad_accum = 1;    // micro-batches per step on each DP rank
    uint64_t seed = 0;
    int64_t log_every = 10;
    int64_t eval_every = 0;    // 0: no periodic evaluation
    int64_t save_every = 0;    // 0: save at the end only (and every save_every_minutes)
    double save_every_minutes = 30;  // also save when this long has passed since the last save (0: never)
    int64_t max_nonfinite_steps = 10;  // consecutive steps with a non-finite loss or gradient before the run stops
    std::string auto_resume = "slurm";  // slurm | always | never: resume from run.dir without --resume
    std::string best_metric = "auto";  // a dev metric name; auto: accuracy, else exact_match, else f1
    double z_loss = 1e-4;
    bool recompute = false;    // recompute each block's activations in backward
  } train;
  struct Prompt {
    std::string method = "shallow";      // shallow | residual | deep (a registered name)
    int64_t length = 100;
    std::string init = "sampled-vocab";  // uniform | sampled-vocab | class-labels | text | file
    std::string init_file;               // a source prompt: ptuner checkpoint or PEFT adapter dir
    std::string init_file_resize = "none";  // none | truncate | tile (another length than prompt.length)
    std::string init_text;
    std::vector<std::string> class_labels;
    int64_t sample_top = 5000;           // sampled-vocab draws from the most common tokens
    struct Residual {                    // residual prompt tuning (Razdaibiedina et al., 2023)
      int64_t bottleneck = 400;
      std::string activation = "relu";   // relu | gelu | tanh
      bool layer_norm = true;
      bool shared = true;                // one MLP for every prompt token (else one per token)
      double dropout = 0.0;
      double lr = 0;                     // the MLP's peak learning rate (0: optim.lr)
      double weight_decay = -1;          // the MLP's (< 0: optim.weight_decay)
    } residual;
    struct Deep {                        // deep prompts (P-tuning v2, prefix tuning)
      bool encoder = true;               // self-attention of every encoder block
      bool decoder = false;              // self-attention of every decoder block
      bool cross = false;                // cross-attention of every decoder block
      int64_t reparam_hidden = 0;        // prefix tuning's MLP width (0: prefixes trained directly)
      double lr = 0;                     // the MLP's peak learning rate (0: optim.lr)
      double weight_decay = -1;          // the MLP's (< 0: optim.weight_decay)
    } deep;
  } prompt;
  struct Optim {
    std::string name = "adafactor";  // adafactor | adamw
    double lr = 0.3;
    std::string schedule = "constant";  // constant | warmup-constant | warmup-linear | warmup-rsqrt
    int64_t warmup_steps = 0;
    double decay_rate = 0.8;            // adafactor
    double clipping_threshold = 1.0;    // adafactor
    double weight_decay = 1e-5;
    bool factored = false;              // adafactor
    double beta1 = 0.9;                 // adamw (adafactor: none)
    double beta2 = 0.999;               // adamw
    double eps = 1e-8;                  // adamw
  } optim;
  dist::Layout parallel;
  struct Dist {
    double timeout_s = 600;  // the MPI path's hang watchdog: a blocking call waits at most this long (≤ 0: forever)
  } dist;
  struct Pipeline {
    int64_t micro_batches = 1;          // per optimizer step (and grad_accum flush) on each DP replica
    std::string schedule = "1f1b";      // 1f1b | gpipe
    std::vector<int64_t> stage_blocks;  // blocks per stage, overriding the balanced split
  } pipeline;

  std::string source;  // file it was read from
  std::string toml;    // the effective configuration, as TOML (stored in checkpoints)

  static RunConfig from_file(const std::string& path, const std::vector<std::string>& overrides = {});
  // validate = false: the keys are still known and typed, but values are not checked (a config a
  // checkpoint stored under older rules, read to compare with).
  static RunConfig from_string(const std::string& text, const std::string& source,
                               const std::vector<std::string>& overrides = {}, bool validate = true);
  // Checks values that need no files: sizes, names, divisibility of the batch.
  void validate() const;
  // Micro-batch per DP rank: batch_size / (dp · grad_accum · micro_batches).
  int64_t micro_batch_size() const;
  // Rows of an evaluation batch on each DP replica: data.eval_batch_size, or the micro-batch's.
  int64_t eval_batch_size() const;
  std::string tokenizer_path() const;
};

}  // namespace ptuner::train
