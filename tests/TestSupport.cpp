#include "tests/TestSupport.h"
#include "tests/MpiSupport.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

#include "data/TokenizerTrainer.h"
#include "dist/MpiCommunicator.h"
#include "dist/MpiEnvironment.h"
#include "dist/ParallelState.h"
#include "model_parallel/SafetensorsWriter.h"
#include "model_parallel/WeightLoader.h"

namespace ptuner::testing {

namespace fs = std::filesystem;

std::string temp_dir(const std::string& name) {
  static const fs::path root = [] {
    auto p = fs::path(::testing::TempDir()) / ("ptuner-tests-" + std::to_string(::getpid()));
    fs::create_directories(p);
    static struct Cleanup {
      fs::path dir;
      ~Cleanup() {
        std::error_code ec;
        fs::remove_all(dir, ec);
      }
    } cleanup{p};
    return p;
  }();
  auto dir = root / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

const std::string& tiny_tokenizer(uint64_t seed) {
  static std::map<uint64_t, std::string> made;
  auto it = made.find(seed);
  if (it == made.end()) {
    auto path = temp_dir("tokenizer-" + std::to_string(seed)) + "/spiece.model";
    data::train_t5_tokenizer(std::string(PTUNER_SOURCE_DIR) + "/data/assets/tiny_corpus.txt", path, 1000, seed);
    it = made.emplace(seed, path).first;
  }
  return it->second;
}

void write_tiny_model(const std::string& dir, uint64_t seed) {
  static std::map<uint64_t, std::string> made;  // seed -> directory holding the model's files
  auto it = made.find(seed);
  if (it == made.end()) {
    const auto src = temp_dir("tiny-model-" + std::to_string(seed));
    fs::copy_file(tiny_tokenizer(), src + "/spiece.model");
    auto config = mp::T5Config::preset("t5-tiny");
    dist::ParallelState ps(dist::Layout{}, self());
    mp::T5Model model(config, ps, mp::StageSpec::whole(config));
    mp::init_weights(model, seed, ps.tp());
    mp::write_safetensors(src + "/model.safetensors", mp::hf_state_dict(model));
    std::ofstream(src + "/config.json") << config.to_json().dump(2);
    it = made.emplace(seed, src).first;
  }
  fs::create_directories(dir);
  for (const char* f : {"spiece.model", "model.safetensors", "config.json"})
    fs::copy_file(it->second + "/" + f, dir + "/" + f, fs::copy_options::overwrite_existing);
}

void write_sentiment_jsonl(const std::string& path, int n, uint64_t seed) {
  const char* things[] = {"soup", "bread", "coffee", "room", "film", "book", "staff", "music"};
  const char* good[] = {"great", "lovely", "kind", "warm", "fresh"};
  const char* bad[] = {"awful", "cold", "rude", "boring", "slow"};
  std::mt19937_64 rng(seed);
  std::ofstream out(path);
  for (int i = 0; i < n; ++i) {
    const bool pos = rng() % 2;
    out << "{\"inputs\": \"review: the " << things[rng() % 8] << " was " << (pos ? good[rng() % 5] : bad[rng() % 5])
        << "\", \"targets\": \"" << (pos ? "positive" : "negative") << "\"}\n";
  }
}

std::string shared_dir(const std::string& name) {
  auto w = world();
  std::string path;
  if (w->rank() == 0) path = temp_dir(name);
  w->broadcast_bytes(path, 0);
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void ensure_mpi() {
  static dist::MpiEnvironment mpi(nullptr, nullptr);
}

}  // namespace ptuner::testing
