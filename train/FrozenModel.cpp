#include "train/FrozenModel.h"

#include <ATen/Context.h>

#include <spdlog/spdlog.h>

#include <filesystem>

#include "dist/Check.h"
#include "dist/ProcessMemory.h"
#include "model_parallel/ModelFingerprint.h"
#include "model_parallel/StageSplit.h"
#include "model_parallel/T5Attention.h"
#include "model_parallel/WeightLoader.h"
#include "model_parallel/WeightStore.h"

namespace ptuner::train {

namespace {

// One line on the writer: this stage's share of the model and every rank's peak memory so far.
void log_loaded(const FrozenModel& fm, const dist::ParallelState& ps) {
  int64_t params = 0, bytes = 0;
  for (const auto& p : fm.model->parameters()) params += p.numel(), bytes += p.numel() * p.element_size();
  auto peak = torch::tensor({static_cast<double>(dist::peak_rss_bytes())}, torch::kFloat64);
  auto all = ps.world().all_gather(peak);
  std::string per_rank;
  for (int64_t r = 0; r < all.size(0); ++r)
    per_rank += fmt::format("{}{:.0f}", r ? ", " : "", all[r].item<double>() / (1 << 20));
  spdlog::info("loaded {} ({} parameters) at {}: stage 0 holds {}; {} parameters, {:.1f} MiB of weights on "
               "this rank; peak RSS per rank [MiB]: {}",
               fm.source, fm.config.num_parameters(), ps.layout().str(), fm.stage.str(), params, bytes / 1048576.0,
               per_rank);
}

}  // namespace

std::string frozen_model_fingerprint(const mp::T5Config& arch, const RunConfig& rc, const mp::WeightStore* store,
                                     const c10::Device& device) {
  return store ? mp::model_fingerprint(arch, *store)
               : mp::preset_fingerprint(arch, rc.model.preset, rc.model.seed, c10::DeviceTypeName(device.type(), true));
}

FrozenArchitecture frozen_architecture(const RunConfig& rc, int64_t tp) {
  FrozenArchitecture a;
  if (!rc.model.path.empty()) {
    PTUNER_CHECK(std::filesystem::is_directory(rc.model.path), "model.path {} is not a directory", rc.model.path);
    a.config = mp::T5Config::from_model_dir(rc.model.path);
    a.source = rc.model.path;
  } else {
    a.config = mp::T5Config::preset(rc.model.preset);
    a.source = "preset " + rc.model.preset;
  }
  if (rc.model.dropout_rate >= 0) a.config.dropout_rate = rc.model.dropout_rate;
  const auto& c = a.config;
  PTUNER_CHECK(c.num_heads % tp == 0 && c.d_ff % tp == 0 && c.vocab_size % tp == 0,
               "parallel.tp = {} must divide num_heads {}, d_ff {} and the vocabulary {} of {}", tp, c.num_heads,
               c.d_ff, c.vocab_size, a.source);
  return a;
}

void check_tokenizer_fits(const data::Tokenizer& tokenizer, const mp::T5Config& arch, const std::string& source) {
  PTUNER_CHECK(tokenizer.vocab_size() <= arch.vocab_size,
               "tokenizer {} has {} ids but the model {} has only {} embedding rows: they do not belong together",
               tokenizer.model_path(), tokenizer.vocab_size(), source, arch.vocab_size);
}

FrozenModel build_frozen_model(const RunConfig& rc, const dist::ParallelState& ps) {
  FrozenModel fm;
  auto arch = frozen_architecture(rc, ps.tp_size());
  fm.config = std::move(arch.config);
  fm.source = std::move(arch.source);
  std::unique_ptr<mp::WeightStore> store;
  if (!rc.model.path.empty()) store = std::make_unique<mp::WeightStore>(rc.model.path);
  const auto& c = fm.config;
  const auto costs = mp::StageCosts::of(c, rc.data.max_input_length, rc.data.max_target_length, rc.micro_batch_size());
  fm.stage = mp::split_stages(c, ps.pp_size(), costs, rc.pipeline.stage_blocks).at(ps.pp_rank());
  fm.model = mp::T5Model(c, ps, fm.stage);
  // The parameters are made on the rank's device in the model dtype first, then filled one
  // tensor at a time (read or drawn on the host, converted as it is copied): the host never holds
  // the stage's weights, and the values are those of an fp32 load converted afterwards.
  fm.model->place(rc.model.dtype == "bfloat16" ? torch::kBFloat16 : torch::kFloat32, ps.device());
  // fp32 on a GPU is fp32: no TF32 in matmuls or convolutions, so that it matches the CPU.
  if (ps.device().is_cuda()) {
    at::globalContext().setAllowTF32CuBLAS(false);
    at::globalContext().setAllowTF32CuDNN(false);
    mp::restrict_fused_attention_backends();
  }
  if (store)
    mp::load_weights(fm.model, *store, ps.tp());
  else
    mp::init_weights(fm.model, rc.model.seed, ps.tp());
  fm.fingerprint = frozen_model_fingerprint(c, rc, store.get(), ps.device());
  fm.model->set_recompute(rc.train.recompute);
  log_loaded(fm, ps);
  return fm;
}

}  // namespace ptuner::train
