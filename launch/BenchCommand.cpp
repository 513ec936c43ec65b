// ptuner bench CONFIG.toml [--steps N] [--warmup W] [--synthetic] [--full-finetune-baseline]
//                          [--decode N] [--out FILE] [--trace FILE] [--set section.key=value …]: timed steps as JSON on stdout.
#include <fstream>
#include <iostream>

#include "dist/Check.h"
#include "dist/JsonText.h"
#include "launch/Commands.h"
#include "launch/RunSetup.h"
#include "launch/Benchmark.h"

namespace ptuner::launch {

Command add_bench(CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  auto o = std::make_shared<BenchOptions>();
  auto out = std::make_shared<std::string>();
  args->add_to(app);
  app.add_option("--steps", o->steps, "timed steps per phase")->capture_default_str();
  app.add_option("--warmup", o->warmup, "untimed steps before them")->capture_default_str();
  app.add_flag("--synthetic", o->synthetic,
               "fixed-shape batches of random ids (max_input_length, max_target_length) instead of data.train");
  app.add_flag("--full-finetune-baseline", o->full_finetune_baseline,
               "also time the same steps with every weight trainable (weight gradients, no optimizer)");
  app.add_option("--gemm-repeats", o->gemm_repeats, "matmuls timed for the GEMM rate")->capture_default_str();
  app.add_option("--peak-flops", o->peak_flops,
                 "the chip's dense peak FLOP/s in the model dtype (989e12: H100/H200 bf16): reports MFU");
  app.add_option("--decode", o->decode_tokens,
                 "also time greedy decoding of N tokens per row, with and without the decoder's key/value cache")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--out", *out, "also write the JSON to this file");
  app.add_option("--trace", o->trace,
                 "write the first timed step's operators as a Chrome trace to TRACE.<rank> (that step runs slower)");
  return [args, o, out]() {
    auto s = setup_run(*args);
    const auto j = run_benchmark(s.config, *s.ps, *o);
    if (s.ps->is_writer()) {
      std::cout << ptuner::json_text(j, 2) << std::endl;
      if (!out->empty()) {
        std::ofstream f(*out);
        PTUNER_CHECK(f, "bench: cannot write {}", *out);
        f << ptuner::json_text(j, 2) << '\n';
      }
    }
    return 0;
  };
}

}  // namespace ptuner::launch
