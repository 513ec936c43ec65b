// ptuner eval CONFIG.toml --prompt CHECKPOINT.h5 [--predictions FILE]: metrics as JSON on stdout.
#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>

#include "data/Tokenizer.h"
#include "dist/Check.h"
#include "launch/Commands.h"
#include "launch/RunSetup.h"
#include "train/Checkpoint.h"
#include "train/Evaluator.h"
#include "train/FrozenModel.h"
#include "train/Trainer.h"

namespace ptuner::launch {

namespace {
struct EvalArgs {
  RunArgs run;
  std::string prompt, predictions;
};
}  // namespace

Command add_eval(CLI::App& app) {
  auto a = std::make_shared<EvalArgs>();
  a->run.add_to(app);
  app.add_option("--prompt", a->prompt, "prompt checkpoint (HDF5) written by ptuner train")->required();
  app.add_option("--predictions", a->predictions, "write every dev example's prediction, one per line, in file order");
  return [a]() {
    auto s = setup_run(a->run);
    const auto& c = s.config;
    PTUNER_CHECK(!c.data.dev.empty(), "{}: data.dev is not set; eval needs a dev file", c.source);
    train::check_prompt_method(c);  // before the model loads
    data::Tokenizer tokenizer(c.tokenizer_path());
    auto frozen = train::build_frozen_model(c, *s.ps);
    auto ck = train::Checkpoint::load(a->prompt);
    ck.check_model(frozen.fingerprint, a->prompt);
    auto prompt = train::make_prompt(c, tokenizer, frozen, *s.ps);
    prompt->check_saved(ck.method, ck.prompt_config, a->prompt);
    prompt->load_parameters(ck.params, a->prompt);
    auto result = train::evaluate(frozen.model, *prompt, tokenizer, *s.ps, train::EvalOptions::from(c));
    if (!a->predictions.empty() && s.ps->is_writer()) {
      std::ofstream out(a->predictions);
      for (const auto& p : result.predictions) out << p << '\n';
    }
    if (s.ps->is_writer()) {
      nlohmann::json j = result.metrics;
      j["step"] = ck.step;
      j["checkpoint"] = a->prompt;
      std::cout << j.dump() << std::endl;
    }
    return 0;
  };
}

}  // namespace ptuner::launch
