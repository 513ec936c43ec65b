#pragma once
// A trained prompt's plain form as a checkpoint (ptuner prompt export): a residual prompt becomes
// the shallow prompt P' it projects to, a reparameterised deep prompt the per-layer prefixes its
// MLP produces; a plain prompt is copied as it is. The result holds the plain method, its
// hyper-parameters and tensors, the run config turned to that method, the step, the model
// fingerprint and the best metric; no optimizer state or data position (it evaluates; it does not
// resume). Needs no weights: only the model's config.json (or preset) for the method's shapes.
#include <string>

#include "model_parallel/T5Config.h"
#include "train/Checkpoint.h"
#include "train/PromptMethod.h"
#include "train/RunConfig.h"

namespace ptuner::train {

// The architecture a config names (model.path's config.json, or model.preset), without weights
// (where model.path has them, a transformers-5 config's head is settled against their headers).
mp::T5Config architecture_of(const RunConfig& config);

// A config's method over the whole model (every stage's parameters, one rank, CPU), zeros.
std::shared_ptr<PromptMethod> whole_prompt_method(const RunConfig& config, const mp::T5Config& model);

// ck (read from `source`) in its plain form.
Checkpoint export_plain(const Checkpoint& ck, const std::string& source);

// A shallow prompt `rows` [L, d] as a checkpoint of a run of `config` (turned to prompt.method =
// "shallow", prompt.length = L) on the frozen model of `fingerprint`: a retrieved init, an import.
Checkpoint shallow_checkpoint(const torch::Tensor& rows, const RunConfig& config, const std::string& fingerprint);

// The fingerprint of the frozen model a config names, read from its files (no weights loaded).
std::string frozen_fingerprint(const RunConfig& config);

}  // namespace ptuner::train
