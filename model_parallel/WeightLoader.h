#pragma once
// Filling a (stage of a, TP-sharded) T5Model from a HuggingFace checkpoint, or with HF's random
// initialisation. Parameters are matched by HF tensor name; each rank copies only its slice.
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "dist/Communicator.h"
#include "model_parallel/T5Model.h"
#include "model_parallel/WeightStore.h"

namespace ptuner::mp {

// Local parameter name -> HF tensor name (the stack's relative_attention_bias lives in block 0).
std::string hf_name(const std::string& local_name);
// Dimension a parameter is split along over TP: 0 (column-parallel / vocab rows), 1 (row-parallel,
// bias columns), or -1 (replicated).
int64_t tp_split_dim(const std::string& local_name);

// Copies this rank's slices from `store` (converting dtype); checks every stored shape against
// the model's, naming the tensor, so a checkpoint of another architecture fails clearly.
void load_weights(T5Model& model, const WeightStore& store, dist::Communicator& tp);

// HF's T5 initialisation (initializer_factor 1), deterministic in (seed, tensor name) and
// independent of the layout: each tensor is drawn whole, then this rank's slice is kept.
void init_weights(T5Model& model, uint64_t seed, dist::Communicator& tp);

// The model's tensors under HF names (a whole, unsharded model only), for writing a checkpoint.
std::vector<std::pair<std::string, torch::Tensor>> hf_state_dict(T5Model& model);

}  // namespace ptuner::mp
