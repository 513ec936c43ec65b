// ptuner init-model: an HF-format T5 directory with random weights (HF's initialisation) and a
// sentencepiece tokenizer trained on the corpus the repository ships.
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "data/Tokenizer.h"
#include "data/TokenizerTrainer.h"
#include "dist/Check.h"
#include "dist/JsonText.h"
#include "dist/MpiCommunicator.h"
#include "dist/ParallelState.h"
#include "launch/Commands.h"
#include "model_parallel/SafetensorsWriter.h"
#include "model_parallel/WeightLoader.h"

#ifndef PTUNER_DEFAULT_CORPUS
#define PTUNER_DEFAULT_CORPUS "data/assets/tiny_corpus.txt"
#endif

namespace ptuner::launch {

namespace {
struct InitModelArgs {
  std::string preset, out, tokenizer, corpus = PTUNER_DEFAULT_CORPUS;
  uint64_t seed = 0;
  int pieces = 1000;
};
}  // namespace

Command add_init_model(CLI::App& app) {
  auto a = std::make_shared<InitModelArgs>();
  app.add_option("--preset", a->preset, "architecture: t5-tiny, t5.1.1-small|base|large|xl|xxl, t5-11b")->required();
  app.add_option("--out", a->out, "output directory (created; must not already hold a model)")->required();
  app.add_option("--seed", a->seed, "seed of the random weights")->capture_default_str();
  app.add_option("--tokenizer", a->tokenizer, "copy this spiece.model instead of training one (a tokenizer with more ids than the preset's "
                 "embedding rows gets its ids rounded up to a multiple of 128 as rows)");
  app.add_option("--corpus", a->corpus, "text the tokenizer is trained on")->capture_default_str();
  app.add_option("--pieces", a->pieces, "sentencepiece vocabulary size to train (sentinels come on top)")
      ->capture_default_str();
  return [a]() {
    namespace fs = std::filesystem;
    auto config = mp::T5Config::preset(a->preset);
    PTUNER_CHECK(!fs::exists(a->out + "/model.safetensors"), "{} already holds a model.safetensors; refusing to overwrite",
                 a->out);
    if (!a->tokenizer.empty()) data::Tokenizer check(a->tokenizer);  // a bad file is named before anything is written
    // Everything is written into a staging directory beside --out and moved into place at the end, so a failure
    // (a bad corpus, a full disk) leaves no partial model directory.
    const fs::path out = fs::absolute(a->out).lexically_normal();
    const fs::path staging = out.parent_path() / (out.filename().string() + ".partial-" + std::to_string(::getpid()));
    fs::create_directories(out.parent_path());
    fs::remove_all(staging);
    fs::create_directory(staging);
    const bool out_existed = fs::exists(out);
    try {
      const std::string spm = (staging / "spiece.model").string();
      if (!a->tokenizer.empty()) {
        fs::copy_file(a->tokenizer, spm, fs::copy_options::overwrite_existing);
      } else {
        data::train_t5_tokenizer(a->corpus, spm, a->pieces, a->seed);
      }
      data::Tokenizer tok(spm);
      // Embedding rows: the preset's, or, for a larger tokenizer (the real T5 vocabulary on t5-tiny), its ids
      // rounded up to a multiple of 128 as the presets do (32100 ids -> 32128 rows).
      if (tok.vocab_size() > config.vocab_size) {
        const int64_t rows = (tok.vocab_size() + 127) / 128 * 128;
        spdlog::info("the tokenizer has {} ids (with sentinels), more than preset {}'s {} embedding rows: using {} rows",
                     tok.vocab_size(), a->preset, config.vocab_size, rows);
        config.vocab_size = rows;
      }
      auto world = std::make_shared<dist::MpiCommunicator>(MPI_COMM_SELF);
      dist::ParallelState ps(dist::Layout{}, world);
      mp::T5Model model(config, ps, mp::StageSpec::whole(config));
      mp::init_weights(model, a->seed, ps.tp());
      mp::write_safetensors((staging / "model.safetensors").string(), mp::hf_state_dict(model), {{"format", "pt"}});
      {
        std::ofstream json(staging / "config.json");
        json << ptuner::json_text(config.to_json(), 2) << '\n';
        json.flush();
        PTUNER_CHECK(json.good(), "cannot write {}: {}", (staging / "config.json").string(), std::strerror(errno));
      }
      if (!out_existed) {
        fs::rename(staging, out);
      } else {
        for (const char* name : {"spiece.model", "config.json", "model.safetensors"})
          fs::rename(staging / name, out / name);
        fs::remove(staging);
      }
      spdlog::info("wrote {} ({} parameters, tokenizer with {} pieces + {} sentinels) to {}", a->preset,
                   config.num_parameters(), tok.piece_size(), tok.num_extra_ids(), a->out);
    } catch (...) {
      std::error_code ec;
      fs::remove_all(staging, ec);
      throw;
    }
    return 0;
  };
}

}  // namespace ptuner::launch
