// ptuner init-model: an HF-format T5 directory with random weights (HF's initialisation) and a
// sentencepiece tokenizer trained on the corpus the repository ships.
#include <spdlog/spdlog.h>

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
  app.add_option("--tokenizer", a->tokenizer, "copy this spiece.model instead of training one");
  app.add_option("--corpus", a->corpus, "text the tokenizer is trained on")->capture_default_str();
  app.add_option("--pieces", a->pieces, "sentencepiece vocabulary size to train (sentinels come on top)")
      ->capture_default_str();
  return [a]() {
    namespace fs = std::filesystem;
    auto config = mp::T5Config::preset(a->preset);
    PTUNER_CHECK(!fs::exists(a->out + "/model.safetensors"), "{} already holds a model.safetensors; refusing to overwrite",
                 a->out);
    fs::create_directories(a->out);
    const std::string spm = a->out + "/spiece.model";
    if (!a->tokenizer.empty()) {
      fs::copy_file(a->tokenizer, spm, fs::copy_options::overwrite_existing);
    } else {
      data::train_t5_tokenizer(a->corpus, spm, a->pieces, a->seed);
    }
    data::Tokenizer tok(spm);
    PTUNER_CHECK(tok.vocab_size() <= config.vocab_size,
                 "the tokenizer has {} ids (with sentinels) but preset {} has {} embedding rows", tok.vocab_size(),
                 a->preset, config.vocab_size);
    auto world = std::make_shared<dist::MpiCommunicator>(MPI_COMM_SELF);
    dist::ParallelState ps(dist::Layout{}, world);
    mp::T5Model model(config, ps, mp::StageSpec::whole(config));
    mp::init_weights(model, a->seed, ps.tp());
    mp::write_safetensors(a->out + "/model.safetensors", mp::hf_state_dict(model), {{"format", "pt"}});
    std::ofstream(a->out + "/config.json") << ptuner::json_text(config.to_json(), 2) << '\n';
    spdlog::info("wrote {} ({} parameters, tokenizer with {} pieces + {} sentinels) to {}", a->preset,
                 config.num_parameters(), tok.piece_size(), tok.num_extra_ids(), a->out);
    return 0;
  };
}

}  // namespace ptuner::launch
