#pragma once
// `ptuner train --dry-run`: what a run checks before its first step, without loading a weight or
// training: the config and layout (as every run), the frozen architecture and its fit to the
// layout (TP divides the heads, PP the blocks), the weight files' headers and the tokenizer, every
// training file read through by its task reader, what evaluation needs (train.eval_every: the dev
// file, its labels, the metric name), and the run directory (a resume's checkpoint and config, or
// a fresh run's empty directory). Throws the error the run would give; returns the lines that
// describe what was found.
#include <string>
#include <vector>

#include "dist/ParallelState.h"
#include "train/RunConfig.h"

namespace ptuner::train {

std::vector<std::string> dry_run(const RunConfig& config, const dist::ParallelState& ps, bool resume);

}  // namespace ptuner::train
