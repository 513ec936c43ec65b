#include "train/FrozenModel.h"

#include <filesystem>

#include "dist/Check.h"
#include "model_parallel/ModelFingerprint.h"
#include "model_parallel/WeightLoader.h"
#include "model_parallel/WeightStore.h"

namespace ptuner::train {

FrozenModel build_frozen_model(const RunConfig& rc, const dist::ParallelState& ps) {
  PTUNER_CHECK(ps.pp_size() == 1, "parallel.pp = {}: pipeline parallelism is not available yet; use pp = 1",
               ps.pp_size());
  FrozenModel fm;
  std::unique_ptr<mp::WeightStore> store;
  if (!rc.model.path.empty()) {
    PTUNER_CHECK(std::filesystem::is_directory(rc.model.path), "model.path {} is not a directory", rc.model.path);
    fm.config = mp::T5Config::from_file(rc.model.path + "/config.json");
    store = std::make_unique<mp::WeightStore>(rc.model.path);
    fm.source = rc.model.path;
  } else {
    fm.config = mp::T5Config::preset(rc.model.preset);
    fm.source = "preset " + rc.model.preset;
  }
  const auto& c = fm.config;
  PTUNER_CHECK(c.num_heads % ps.tp_size() == 0 && c.d_ff % ps.tp_size() == 0 && c.vocab_size % ps.tp_size() == 0,
               "parallel.tp = {} must divide num_heads {}, d_ff {} and the vocabulary {} of {}", ps.tp_size(),
               c.num_heads, c.d_ff, c.vocab_size, fm.source);
  fm.model = mp::T5Model(c, ps, mp::StageSpec::whole(c));
  if (store) {
    mp::load_weights(fm.model, *store, ps.tp());
    fm.fingerprint = mp::model_fingerprint(c, *store);
  } else {
    mp::init_weights(fm.model, rc.model.seed, ps.tp());
    fm.fingerprint = mp::preset_fingerprint(c, rc.model.preset, rc.model.seed);
  }
  if (rc.model.dtype == "bfloat16") fm.model->set_dtype(torch::kBFloat16);
  return fm;
}

}  // namespace ptuner::train
