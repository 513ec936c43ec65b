#pragma once
// The frozen T5 of a run, built on this rank's stage and TP shard: from an HF directory
// (model.path) or a named preset with random weights (model.preset).
#include <string>

#include "data/Tokenizer.h"
#include "dist/ParallelState.h"
#include "model_parallel/T5Model.h"
#include "model_parallel/WeightStore.h"
#include "train/RunConfig.h"

namespace ptuner::train {

struct FrozenModel {
  mp::T5Config config;
  mp::StageSpec stage;  // this rank's pipeline stage
  mp::T5Model model{nullptr};
  std::string fingerprint;
  std::string source;  // directory or "preset NAME"
};

FrozenModel build_frozen_model(const RunConfig& config, const dist::ParallelState& ps);

// A config's frozen architecture without its weights: model.path's config.json (the directory
// must exist) or the preset, with model.dropout_rate applied, checked against parallel.tp (TP
// must divide the heads, d_ff and the vocabulary). `source` names it: directory or "preset NAME".
struct FrozenArchitecture {
  mp::T5Config config;
  std::string source;
};
FrozenArchitecture frozen_architecture(const RunConfig& config, int64_t tp);

// The tokenizer's ids fit the model's embedding rows, or an error naming both.
void check_tokenizer_fits(const data::Tokenizer& tokenizer, const mp::T5Config& arch, const std::string& source);

// The fingerprint of a config's frozen model of architecture `arch` (model.dropout_rate applied):
// its weights' (store, for model.path) or the preset's and seed's.
// A preset's weights are drawn on `device` (init_weights), which the fingerprint records.
std::string frozen_model_fingerprint(const mp::T5Config& arch, const RunConfig& config, const mp::WeightStore* store,
                                     const c10::Device& device);

}  // namespace ptuner::train
