#include "train/DataOptions.h"

#include "train/PromptMethod.h"

namespace ptuner::train {

data::LoaderOptions training_loader_options(const RunConfig& c, int dp_rank, int dp_size) {
  data::LoaderOptions lo;
  lo.path = c.data.train;
  // Each DP rank's share of a step; split into micro-batches by the trainer, so that a loader
  // position counts steps whatever the layout.
  lo.batch_size = c.train.batch_size / c.parallel.dp;
  lo.max_input_len = c.data.max_input_length - encoder_prefix_rows(c);
  lo.max_target_len = c.data.max_target_length;
  lo.seed = c.train.seed;
  lo.shuffle_buffer = c.data.shuffle_buffer;
  lo.task = c.data.task;
  lo.task_prefix = c.data.task_prefix;
  lo.bucket_by_length = c.data.bucket_by_length;
  lo.batches_per_step = 1;  // one loader batch is a DP rank's whole step
  lo.dp_rank = dp_rank;
  lo.dp_size = dp_size;
  lo.on_error = data::on_error_named(c.data.on_error);
  lo.prefetch = c.data.prefetch;
  lo.tokenizer_threads = static_cast<int>(c.data.tokenizer_threads);
  for (const auto& m : c.data.mixture) lo.mixture.push_back({m.task, m.train, m.rate});
  lo.mixing = c.data.mixing;
  lo.mixing_cap = c.data.mixing_cap;
  lo.mixing_temperature = c.data.mixing_temperature;
  return lo;
}

}  // namespace ptuner::train
