// ptuner plan CONFIG.toml [--set …] [--json] [--device-memory 80GiB] [--attention KERNEL]: every
// rank's share of the model and an activation estimate for training and, where the config has
// dev sets, for evaluation (data.eval_batch_size rows), checked against a device's memory,
// without loading weights. The attention kernel the estimate assumes (auto: the one a run of this
// config with this build takes: fused where the LibTorch has CUDA and fused attention and
// model.device is not cpu, else written-out).
#include <nlohmann/json.hpp>

#include <iostream>

#include "dist/Check.h"
#include "dist/JsonText.h"
#include "dist/ParallelState.h"
#include "dist/DeviceChoice.h"
#include "launch/Commands.h"
#include "launch/RunSetup.h"
#include "model_parallel/MemoryPlan.h"
#include "model_parallel/StageSplit.h"
#include "model_parallel/T5Attention.h"
#include "train/Evaluator.h"
#include "train/FrozenModel.h"
#include "train/PromptMethod.h"

namespace ptuner::launch {

namespace {

struct PlanArgs {
  RunArgs run;
  bool json = false;
  std::string device_memory = "80GiB";
  std::string attention = "auto";
};

int64_t parse_bytes(const std::string& text) {
  size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(text, &pos);
  } catch (const std::exception&) {
    PTUNER_FAIL("--device-memory '{}' is not a size (e.g. 80GiB, 40GB, 16384MiB)", text);
  }
  const std::string unit = text.substr(pos);
  double k = 1;
  if (unit == "GiB") k = 1024.0 * 1024 * 1024;
  else if (unit == "MiB") k = 1024.0 * 1024;
  else if (unit == "GB") k = 1e9;
  else if (unit == "MB") k = 1e6;
  else PTUNER_CHECK(unit.empty() || unit == "B", "--device-memory '{}': unknown unit '{}' (GiB, MiB, GB, MB)", text, unit);
  return static_cast<int64_t>(v * k);
}

double gib(int64_t b) { return static_cast<double>(b) / (1024.0 * 1024 * 1024); }

}  // namespace

Command add_plan(CLI::App& app) {
  auto a = std::make_shared<PlanArgs>();
  a->run.add_to(app);
  app.add_flag("--json", a->json, "one JSON document instead of the table");
  app.add_option("--device-memory", a->device_memory, "memory of one device, e.g. 80GiB")->capture_default_str();
  app.add_option("--attention", a->attention,
                 "attention kernel the estimate assumes: fused (CUDA, LibTorch >= 2.1), written-out, or auto (the "
                 "one a run of this config with this build takes)")
      ->check(CLI::IsMember({"auto", "fused", "written-out"}))
      ->capture_default_str();
  return [a]() {
    auto rc = train::RunConfig::from_file(a->run.config, a->run.overrides);
    const auto& l = rc.parallel;
    const auto config = train::frozen_architecture(rc, l.tp).config;
    const auto stages = mp::split_stages(
        config, l.pp, mp::StageCosts::of(config, rc.data.max_input_length, rc.data.max_target_length,
                                                rc.micro_batch_size()),
        rc.pipeline.stage_blocks);
    mp::PlanInputs in;
    in.tp = l.tp, in.pp = l.pp, in.dp = l.dp;
    in.micro_batch = rc.micro_batch_size();
    in.micro_batches = rc.pipeline.micro_batches;
    in.input_tokens = rc.data.max_input_length;
    in.target_tokens = rc.data.max_target_length;
    in.weight_bytes = in.activation_bytes = rc.model.dtype == "bfloat16" ? 2 : 4;
    in.schedule = rc.pipeline.schedule;
    in.recompute = rc.train.recompute;
    // auto: the kernel the run's ranks take, on CUDA where this LibTorch has it and the config
    // does not ask for the CPU.
    std::string attention = a->attention;
    if (attention == "auto")
      attention = mp::auto_attention_kernel(dist::cuda_built() && rc.model.device != "cpu") ==
                          mp::AttentionKernel::Fused
                      ? "fused"
                      : "written-out";
    in.fused_attention = attention == "fused";
    // Evaluation where the config has dev sets (training's eval_every, `ptuner eval`): its rows
    // on each DP replica, its method.
    const bool evaluates = !train::run_dev_sets(rc).empty();
    in.eval_rows = evaluates ? rc.eval_batch_size() : 0;
    in.eval_greedy = rc.data.eval_method != "rank";
    const int64_t device = parse_bytes(a->device_memory);
    // The prompt method's trainable values on each stage (every TP and DP rank of a stage holds
    // the same: replicated masters), made with zeros: no tokenizer, no weights.
    train::check_prompt_method(rc);
    std::vector<int64_t> prompt_per_stage;
    int64_t prompt_total = 0;
    for (int s = 0; s < l.pp; ++s) {
      train::PromptPlace place;
      place.first_block = stages[s].first_block(config.num_layers);
      place.end_block = stages[s].end_block(config.num_layers);
      place.holds_embedding = s == 0;
      place.tp_size = l.tp;
      train::PromptMethodArgs args{rc, config, place, nullptr, /*initialise=*/false, {}, {}, {}};
      auto method = train::make_prompt_method(args);
      int64_t n = 0;
      for (const auto& p : method->parameters()) n += p.numel();
      prompt_per_stage.push_back(n);
      if (s == 0)
        for (const auto& [name, shape] : method->global_shapes()) {
          int64_t k = 1;
          for (auto d : shape) k *= d;
          prompt_total += k;
        }
    }
    nlohmann::json ranks = nlohmann::json::array();
    int64_t owned_total = 0, worst = 0;
    for (int r = 0; r < l.world(); ++r) {
      auto co = dist::Coordinates::of(l, r);
      auto p = mp::plan_rank(config, stages[co.pp_idx], co.tp_idx, co.pp_idx, in);
      p.world_rank = r, p.dp_rank = co.dp_idx;
      if (co.dp_idx == 0) owned_total += p.owned_parameters;  // DP replicas hold the same
      worst = std::max(worst, p.total_bytes());
      ranks.push_back({{"rank", r}, {"tp", co.tp_idx}, {"pp", co.pp_idx}, {"dp", co.dp_idx},
                       {"blocks", p.stage.str()}, {"owned_parameters", p.owned_parameters},
                       {"replica_parameters", p.replica_parameters},
                       {"prompt_parameters", prompt_per_stage[static_cast<size_t>(co.pp_idx)]},
                       {"weight_bytes", p.weight_bytes},
                       {"activation_bytes", p.activation_bytes},
                       {"eval_bytes", p.eval.bytes()}, {"eval_cache_bytes", p.eval.cache_bytes},
                       {"total_bytes", p.total_bytes()},
                       {"fits", p.total_bytes() <= device}});
    }
    PTUNER_CHECK(owned_total == config.num_parameters(),
                 "plan: owned parameters sum to {} but the model has {}", owned_total, config.num_parameters());
    const bool fits = worst <= device;
    if (a->json) {
      std::cout << ptuner::json_text(nlohmann::json{{"model", rc.model.path.empty() ? rc.model.preset : rc.model.path},
                                  {"total_parameters", config.num_parameters()},
                                  {"owned_parameters_sum", owned_total},
                                  {"prompt_method", rc.prompt.method},
                                  {"prompt_parameters", prompt_total},
                                  {"layout", l.str()},
                                  {"attention", attention},
                                  {"eval_rows", in.eval_rows},
                                  {"eval_method", evaluates ? rc.data.eval_method : ""},
                                  {"device_memory_bytes", device},
                                  {"fits", fits},
                                  {"ranks", ranks}}, 2)
                << std::endl;
      return fits ? 0 : 3;
    }
    std::cout << fmt::format("{:>5} {:>3} {:>3} {:>3}  {:<58} {:>14} {:>12} {:>12} {:>9} {:>9} {:>9} {:>9}  {}\n",
                             "rank", "tp", "pp", "dp", "blocks", "owned params", "replicas", "prompt", "weights",
                             "activ.", "eval", "total", "fits");
    for (const auto& r : ranks)
      std::cout << fmt::format(
          "{:>5} {:>3} {:>3} {:>3}  {:<58} {:>14} {:>12} {:>12} {:>7.2f}Gi {:>7.2f}Gi {:>9} {:>7.2f}Gi  {}\n",
          r["rank"].get<int>(), r["tp"].get<int>(), r["pp"].get<int>(), r["dp"].get<int>(),
          r["blocks"].get<std::string>(), r["owned_parameters"].get<int64_t>(), r["replica_parameters"].get<int64_t>(),
          r["prompt_parameters"].get<int64_t>(), gib(r["weight_bytes"].get<int64_t>()),
          gib(r["activation_bytes"].get<int64_t>()),
          evaluates ? fmt::format("{:.2f}Gi", gib(r["eval_bytes"].get<int64_t>())) : std::string("-"),
          gib(r["total_bytes"].get<int64_t>()), r["fits"].get<bool>() ? "yes" : "NO");
    const std::string evaluation =
        evaluates ? fmt::format("evaluation {} rows ({})", in.eval_rows, rc.data.eval_method) : "no dev set to evaluate";
    std::cout << fmt::format(
        "total parameters {} (owned, summed over one DP replica: {}); {} prompt: {} trainable; micro-batch {} × {} "
        "({}), S {} T {}, {}, {} attention; largest rank {:.2f} GiB of {:.2f} GiB: {}\n",
        config.num_parameters(), owned_total, rc.prompt.method, prompt_total, in.micro_batch, in.micro_batches,
        in.schedule, in.input_tokens, in.target_tokens, evaluation, attention, gib(worst), gib(device),
        fits ? "fits" : "DOES NOT FIT");
    return fits ? 0 : 3;
  };
}

}  // namespace ptuner::launch
