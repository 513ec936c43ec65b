// ptuner prompt export CKPT.h5 --out FILE: the trained prompt in its plain form (train/PromptExport.h):
// a residual prompt as the shallow prompt it projects to, a reparameterised deep prompt as its
// per-layer prefixes. Evaluate the result with `ptuner eval` and a config whose prompt.method
// (and prompt.deep.reparam_hidden = 0) match; the exported file's meta/config holds one.
//
// add_prompt(app) registers `export` under `app`, the `prompt` subcommand.
#include <spdlog/spdlog.h>

#include <filesystem>
#include <memory>

#include "dist/Check.h"
#include "launch/Commands.h"
#include "train/PromptExport.h"

namespace ptuner::launch {

namespace {
struct ExportArgs {
  std::string checkpoint, out;
};
}  // namespace

Command add_prompt(CLI::App& app) {
  auto a = std::make_shared<ExportArgs>();
  app.require_subcommand(1);
  auto* ex = app.add_subcommand(
      "export", "Write a checkpoint's prompt without its reparameterisation (residual MLP, prefix MLP) folded in");
  ex->add_option("checkpoint", a->checkpoint, "prompt checkpoint (HDF5) written by ptuner train")->required();
  ex->add_option("--out", a->out, "the plain prompt checkpoint to write")->required();
  return [a]() {
    PTUNER_CHECK(std::filesystem::exists(a->checkpoint), "prompt export: {} does not exist", a->checkpoint);
    PTUNER_CHECK(std::filesystem::absolute(a->checkpoint) != std::filesystem::absolute(a->out),
                 "prompt export: --out {} would overwrite the checkpoint it reads", a->out);
    const auto ck = train::Checkpoint::load(a->checkpoint);
    const auto plain = train::export_plain(ck, a->checkpoint);
    plain.save(a->out);
    int64_t numel = 0;
    for (const auto& [name, t] : plain.params) numel += t.numel();
    spdlog::info("{}: '{}' prompt of step {} -> {}: '{}' prompt, {} tensors, {} values", a->checkpoint, ck.method,
                 ck.step, a->out, plain.method, plain.params.size(), numel);
    return 0;
  };
}

}  // namespace ptuner::launch
