#pragma once
// The training data loader's options, built from a run config in this one place.
#include "data/LoaderOptions.h"
#include "train/RunConfig.h"

namespace ptuner::train {

// The loader of DP rank `dp_rank` of `dp_size`: one batch is that rank's share of an optimizer
// step (train.batch_size / parallel.dp examples, split into micro-batches by the trainer), inputs
// truncated to leave room for the prompt.
data::LoaderOptions training_loader_options(const RunConfig& config, int dp_rank, int dp_size);

}  // namespace ptuner::train
