#pragma once
// Helpers shared by the suites: temporary directories and a tiny HF-format model with its
// tokenizer and a small text-to-text dataset, made the way `ptuner init-model` makes them.
#include <string>

namespace ptuner::testing {

// A fresh directory under the test temp dir, removed at process exit.
std::string temp_dir(const std::string& name);

// Writes config.json, model.safetensors and spiece.model for preset t5-tiny into dir
// (weights from `seed`; the tokenizer is trained once per process and copied).
void write_tiny_model(const std::string& dir, uint64_t seed);

// Writes n lines of {"inputs": "review: …", "targets": "positive"|"negative"} to path.
void write_sentiment_jsonl(const std::string& path, int n, uint64_t seed);

std::string read_file(const std::string& path);

}  // namespace ptuner::testing
