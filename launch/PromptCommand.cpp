// ptuner prompt …: what can be done with trained prompts without training.
//   export CKPT.h5 --out FILE [--format ptuner|peft]   the plain form (train/PromptExport.h), or a
//                                                      HF PEFT prompt-tuning adapter directory
//   import DIR --out CKPT.h5 --config CONFIG.toml      a PEFT adapter as a ptuner checkpoint
//   similarity TARGET.h5 SOURCE.h5… [--metric M] [--json]   SPoT's task similarities, best first
//   retrieve TARGET.h5 SOURCE.h5… --mode MODE --top-k K [--metric M] --out FILE
//   neighbors CKPT.h5 --model DIR [--k 5] [--json]     each prompt token's nearest vocabulary items
//
// add_prompt(app) registers them under `app`, the `prompt` subcommand.
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include "data/Tokenizer.h"
#include "dist/Check.h"
#include "dist/JsonText.h"
#include "launch/Commands.h"
#include "model_parallel/WeightStore.h"
#include "train/PeftAdapter.h"
#include "train/PromptExport.h"
#include "train/Spot.h"

namespace ptuner::launch {

namespace {

struct PromptArgs {
  std::string checkpoint, out, format = "ptuner", config, metric = "per-token", mode, model;
  std::vector<std::string> sources;
  int64_t top_k = 1, k = 5;
  bool json = false;
};

train::Checkpoint load_checkpoint(const std::string& path) {
  PTUNER_CHECK(std::filesystem::exists(path), "{} does not exist", path);
  return train::Checkpoint::load(path);
}

int run_export(const PromptArgs& a) {
  PTUNER_CHECK(std::filesystem::absolute(a.checkpoint) != std::filesystem::absolute(a.out),
               "prompt export: --out {} would overwrite the checkpoint it reads", a.out);
  const auto ck = load_checkpoint(a.checkpoint);
  const auto plain = train::export_plain(ck, a.checkpoint);
  if (a.format == "peft") {
    train::write_peft_adapter(a.out, plain, a.checkpoint);
    spdlog::info("{}: '{}' prompt of step {} -> PEFT prompt-tuning adapter {}", a.checkpoint, ck.method, ck.step, a.out);
    return 0;
  }
  plain.save(a.out);
  int64_t numel = 0;
  for (const auto& [name, t] : plain.params) numel += t.numel();
  spdlog::info("{}: '{}' prompt of step {} -> {}: '{}' prompt, {} tensors, {} values", a.checkpoint, ck.method, ck.step,
               a.out, plain.method, plain.params.size(), numel);
  return 0;
}

int run_import(const PromptArgs& a) {
  const auto config = train::RunConfig::from_file(a.config);
  const auto ck = train::import_peft_adapter(a.checkpoint, config);
  ck.save(a.out);
  spdlog::info("PEFT adapter {} -> {}: shallow prompt of {} tokens", a.checkpoint, a.out,
               ck.params.at("embedding").size(0));
  return 0;
}

// The target's and the sources' task embeddings; every source trained on the target's frozen
// model (a prompt's similarity to another model's prompt means nothing).
std::pair<torch::Tensor, std::vector<torch::Tensor>> embeddings(const PromptArgs& a) {
  const auto target_ck = load_checkpoint(a.checkpoint);
  auto target = train::task_embedding(target_ck, a.checkpoint);
  std::vector<torch::Tensor> sources;
  for (const auto& s : a.sources) {
    const auto ck = load_checkpoint(s);
    PTUNER_CHECK(ck.model_fingerprint.empty() || target_ck.model_fingerprint.empty() ||
                     ck.model_fingerprint == target_ck.model_fingerprint,
                 "source {} was trained on another frozen model (fingerprint {}) than the target {} ({})", s,
                 ck.model_fingerprint, a.checkpoint, target_ck.model_fingerprint);
    sources.push_back(train::task_embedding(ck, s));
  }
  return {target, sources};
}

int run_similarity(const PromptArgs& a) {
  const auto [target, sources] = embeddings(a);
  const auto ranked = train::rank_sources(target, sources, a.sources, a.metric);
  if (a.json) {
    nlohmann::json j = {{"target", a.checkpoint}, {"metric", a.metric}, {"sources", nlohmann::json::array()}};
    for (const auto& r : ranked)
      j["sources"].push_back({{"source", r.source}, {"average_token", r.average_token}, {"per_token", r.per_token}});
    std::cout << ptuner::json_text(j, 2) << std::endl;
    return 0;
  }
  std::cout << fmt::format("target {} (ranked by {})\n{:>4}  {:>14}  {:>10}  {}\n", a.checkpoint, a.metric, "rank",
                           "average-token", "per-token", "source");
  for (size_t i = 0; i < ranked.size(); ++i)
    std::cout << fmt::format("{:>4}  {:>14.6f}  {:>10.6f}  {}\n", i + 1, ranked[i].average_token, ranked[i].per_token,
                             ranked[i].source);
  return 0;
}

int run_retrieve(const PromptArgs& a) {
  const auto target_ck = load_checkpoint(a.checkpoint);
  const auto [target, sources] = embeddings(a);
  const auto ranked = train::rank_sources(target, sources, a.sources, a.metric);
  const auto weights = train::top_k_weights(ranked, a.top_k, a.metric);
  nlohmann::json chosen = nlohmann::json::array();
  for (size_t i = 0; i < weights.size(); ++i)
    chosen.push_back({{"source", ranked[i].source}, {"similarity", ranked[i].score(a.metric)}, {"weight", weights[i]}});
  if (a.mode == "weighted-average") {
    std::vector<torch::Tensor> top;
    std::vector<std::string> fingerprints;
    for (size_t i = 0; i < weights.size(); ++i) {
      const auto& name = ranked[i].source;
      const auto at = std::find(a.sources.begin(), a.sources.end(), name) - a.sources.begin();
      top.push_back(sources[static_cast<size_t>(at)]);
    }
    const auto ck = train::shallow_checkpoint(
        train::weighted_prompt(top, weights),
        train::RunConfig::from_string(target_ck.config_toml, a.checkpoint + " (meta/config)"),
        target_ck.model_fingerprint);
    ck.save(a.out);
  } else if (a.mode == "mixture") {
    // The top-k sources' training tasks as [[data.mixture]] tables (their configs name them).
    std::ofstream out(a.out);
    PTUNER_CHECK(out.good(), "cannot write {}", a.out);
    out << "# The training tasks of the top-" << a.top_k << " sources of " << a.checkpoint << " by " << a.metric
        << " (SPoT's multi-task source): append to a source-prompt run's config.\n";
    for (size_t i = 0; i < weights.size(); ++i) {
      const auto c = train::RunConfig::from_string(load_checkpoint(ranked[i].source).config_toml, ranked[i].source);
      if (!c.data.mixture.empty()) {
        for (const auto& m : c.data.mixture)
          out << "[[data.mixture]]\ntask = \"" << m.task << "\"\ntrain = \"" << m.train << "\"\n";
      } else {
        PTUNER_CHECK(!c.data.train.empty(), "{}: its config names no training data", ranked[i].source);
        out << "[[data.mixture]]\ntask = \"" << c.data.task << "\"\ntrain = \"" << c.data.train << "\"\n";
      }
    }
  } else {
    PTUNER_CHECK(a.mode == "best-of", "--mode '{}' is not one of: best-of, weighted-average, mixture", a.mode);
  }
  std::cout << ptuner::json_text(nlohmann::json{{"target", a.checkpoint}, {"metric", a.metric}, {"mode", a.mode}, {"top_k", a.top_k},
                              {"chosen", chosen}, {"out", a.mode == "best-of" ? "" : a.out}}, 2)
            << std::endl;
  return 0;
}

int run_neighbors(const PromptArgs& a) {
  const auto prompt = train::task_embedding(load_checkpoint(a.checkpoint), a.checkpoint);
  mp::WeightStore store(a.model);
  data::Tokenizer tokenizer(a.model + "/spiece.model");
  const auto embedding = store.load("shared.weight");
  const auto near = train::nearest_tokens(prompt, embedding, tokenizer.vocab_size(), a.k);
  nlohmann::json j = nlohmann::json::array();
  for (size_t i = 0; i < near.size(); ++i) {
    nlohmann::json row = nlohmann::json::array();
    std::string line = fmt::format("{:>4}", i);
    for (const auto& n : near[i]) {
      const auto piece = tokenizer.pieces({n.id}).at(0);
      row.push_back({{"id", n.id}, {"piece", piece}, {"cosine", n.cosine}});
      line += fmt::format("  {} ({:.3f})", piece, n.cosine);
    }
    j.push_back(row);
    if (!a.json) std::cout << line << "\n";
  }
  if (a.json) std::cout << ptuner::json_text(j, 2) << std::endl;
  return 0;
}

}  // namespace

Command add_prompt(CLI::App& app) {
  auto a = std::make_shared<PromptArgs>();
  app.require_subcommand(1);
  auto* ex = app.add_subcommand(
      "export", "Write a checkpoint's prompt in its plain form (residual and prefix MLPs folded away), as a ptuner "
                "checkpoint or a HF PEFT prompt-tuning adapter directory");
  ex->add_option("checkpoint", a->checkpoint, "prompt checkpoint (HDF5) written by ptuner train")->required();
  ex->add_option("--out", a->out, "the checkpoint (ptuner) or directory (peft) to write")->required();
  ex->add_option("--format", a->format, "ptuner | peft")->check(CLI::IsMember({"ptuner", "peft"}))->capture_default_str();

  auto* im = app.add_subcommand("import", "Read a HF PEFT prompt-tuning adapter directory as a ptuner checkpoint");
  im->add_option("adapter", a->checkpoint, "directory with adapter_config.json and adapter_model.safetensors")
      ->required();
  im->add_option("--config", a->config, "the run config of the frozen model it belongs to (model.path)")->required();
  im->add_option("--out", a->out, "the checkpoint to write")->required();

  auto* sim = app.add_subcommand("similarity", "Rank source prompts by SPoT's task similarity to a target prompt");
  sim->add_option("target", a->checkpoint, "the target task's prompt checkpoint")->required();
  sim->add_option("sources", a->sources, "source prompt checkpoints")->required();
  sim->add_option("--metric", a->metric, "ranking: average-token | per-token")
      ->check(CLI::IsMember({"average-token", "per-token"}))
      ->capture_default_str();
  sim->add_flag("--json", a->json, "JSON instead of the table");

  auto* ret = app.add_subcommand("retrieve", "A target init from the top-k sources (SPoT): best-of lists them, "
                                             "weighted-average writes their similarity-weighted mean as a checkpoint, "
                                             "mixture writes their training tasks as [[data.mixture]] tables");
  ret->add_option("target", a->checkpoint, "the target task's prompt checkpoint (its task embedding)")->required();
  ret->add_option("sources", a->sources, "source prompt checkpoints")->required();
  ret->add_option("--mode", a->mode, "best-of | weighted-average | mixture")
      ->check(CLI::IsMember({"best-of", "weighted-average", "mixture"}))
      ->required();
  ret->add_option("--top-k", a->top_k, "sources to use")->capture_default_str();
  ret->add_option("--metric", a->metric, "ranking: average-token | per-token")
      ->check(CLI::IsMember({"average-token", "per-token"}))
      ->capture_default_str();
  ret->add_option("--out", a->out, "weighted-average: the init checkpoint; mixture: the TOML tables");

  auto* nb = app.add_subcommand("neighbors", "Each prompt token's nearest vocabulary items by cosine similarity");
  nb->add_option("checkpoint", a->checkpoint, "prompt checkpoint")->required();
  nb->add_option("--model", a->model, "the HF model directory (its shared.weight and spiece.model)")->required();
  nb->add_option("--k", a->k, "neighbours per token")->capture_default_str();
  nb->add_flag("--json", a->json, "JSON instead of the table");

  return [a, ex, im, sim, ret, nb]() {
    if (ex->parsed()) return run_export(*a);
    if (im->parsed()) return run_import(*a);
    if (sim->parsed()) return run_similarity(*a);
    if (ret->parsed()) {
      PTUNER_CHECK(a->mode == "best-of" || !a->out.empty(), "prompt retrieve --mode {} needs --out", a->mode);
      return run_retrieve(*a);
    }
    if (nb->parsed()) return run_neighbors(*a);
    return 1;
  };
}

}  // namespace ptuner::launch
