#pragma once
// Helpers shared by the suites: temporary directories and a tiny HF-format model with its
// tokenizer and a small text-to-text dataset, made the way `ptuner init-model` makes them.
// Each fixture file is made once per process and copied where a test asks for it.
#include <cstdint>
#include <string>

namespace ptuner::testing {

// A fresh directory under the test temp dir, removed at process exit.
std::string temp_dir(const std::string& name);

// A 1000-piece T5 tokenizer trained on data/assets/tiny_corpus.txt with `seed`, made once per
// process and seed; the path of that file (copy it, do not write to it).
const std::string& tiny_tokenizer(uint64_t seed = 0);

// Writes config.json, model.safetensors and spiece.model for preset t5-tiny into dir
// (weights from `seed`; each seed's files are written once per process and copied).
void write_tiny_model(const std::string& dir, uint64_t seed);

// Writes n lines of {"inputs": "review: …", "targets": "positive"|"negative"} to path.
void write_sentiment_jsonl(const std::string& path, int n, uint64_t seed);

std::string read_file(const std::string& path);

// Initialises MPI (singleton mode) on first call, finalised at process exit; a no-op when main
// already did. Single-rank suites call it (through self() / world() in MpiSupport.h) only in the
// tests that build a communicator, so suites without one never start MPI.
void ensure_mpi();

}  // namespace ptuner::testing
