// The residual and deep prompt methods on one rank: the residual projection by hand, a residual
// prompt whose MLP outputs zero trains as the shallow prompt, a deep prompt the attention gives no
// weight leaves the frozen model's loss, initialisation from the frozen K/V projections, plain()
// folding (the exported prompt predicts what the trained one does), checkpoint refusals,
// optimizer groups, and the trainable parameter counts of the README's method table.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "dist/Check.h"
#include "tests/MpiSupport.h"
#include "tests/StageSupport.h"
#include "tests/TestSupport.h"
#include "tests/train/TinyTrainerRun.h"
#include "train/DeepPrompt.h"
#include "train/Evaluator.h"
#include "train/PromptExport.h"
#include "train/ResidualPrompt.h"
#include "train/SoftPrompt.h"
#include "train/Trainer.h"

namespace ptuner::train {
namespace {

// The trainer tests' tiny model and data (tests/train/TinyTrainerRun.h), residual bottleneck 8.
RunConfig config(const std::string& run, std::vector<std::string> extra = {}) {
  extra.insert(extra.begin(), "prompt.residual.bottleneck=8");
  return ptuner::testing::tiny_trainer_config("methods-" + run, std::move(extra));
}

dist::ParallelState& single() { return ptuner::testing::single_rank(); }

std::map<std::string, torch::Tensor> params_of(PromptMethod& m) {
  std::map<std::string, torch::Tensor> out;
  for (const auto& item : m.named_parameters()) out[item.key()] = item.value();
  return out;
}

// P' of a residual prompt by hand, element by element in double precision.
torch::Tensor residual_by_hand(const std::map<std::string, torch::Tensor>& p, bool shared, bool layer_norm) {
  auto P = p.at("embedding").to(torch::kFloat64);
  const int64_t rows = P.size(0), d = P.size(1), h = p.at("down_bias").size(-1);
  auto at = [&](const std::string& n, int64_t t) {
    auto x = p.at(n).to(torch::kFloat64);
    return shared ? x : x[t];
  };
  auto out = torch::zeros({rows, d}, torch::kFloat64);
  for (int64_t t = 0; t < rows; ++t) {
    std::vector<double> hid(h), u(d);
    for (int64_t j = 0; j < h; ++j) {
      double s = at("down_bias", t)[j].item<double>();
      for (int64_t i = 0; i < d; ++i) s += at("down_weight", t)[j][i].item<double>() * P[t][i].item<double>();
      hid[j] = std::max(s, 0.0);
    }
    for (int64_t i = 0; i < d; ++i) {
      double s = at("up_bias", t)[i].item<double>();
      for (int64_t j = 0; j < h; ++j) s += at("up_weight", t)[i][j].item<double>() * hid[j];
      u[i] = s;
    }
    double mean = 0, var = 0;
    for (double x : u) mean += x / d;
    for (double x : u) var += (x - mean) * (x - mean) / d;
    for (int64_t i = 0; i < d; ++i) {
      double v = u[i];
      if (layer_norm)
        v = (u[i] - mean) / std::sqrt(var + 1e-5) * at("ln_weight", t)[i].item<double>() +
            at("ln_bias", t)[i].item<double>();
      out[t][i] = v + P[t][i].item<double>();
    }
  }
  return out;
}

TEST(ResidualPrompt, ProjectsATwoTokenPromptAsTheFormulaSays) {
  for (bool shared : {true, false})
    for (bool layer_norm : {true, false}) {
      ResidualOptions o;
      o.length = 2, o.d_model = 4, o.bottleneck = 3, o.shared = shared, o.layer_norm = layer_norm;
      ResidualPrompt r(o, /*owner=*/true, {});
      torch::manual_seed(7);
      {
        torch::NoGradGuard no_grad;
        for (auto& p : r.parameters()) p.copy_(torch::randn_like(p));
      }
      auto p = params_of(r);
      if (!shared) {
        EXPECT_EQ(p.at("down_weight").sizes().vec(), (std::vector<int64_t>{2, 3, 4}));
      }
      EXPECT_EQ(p.count("ln_weight"), layer_norm ? 1u : 0u);
      auto expected = residual_by_hand(p, shared, layer_norm);
      EXPECT_TRUE(torch::allclose(r.projected().to(torch::kFloat64), expected, 1e-5, 1e-6))
          << "shared " << shared << " layer_norm " << layer_norm;
      // The injection is P' itself, and plain() is P' as a shallow prompt.
      auto plain = r.plain();
      EXPECT_EQ(plain.overrides, (std::vector<std::string>{"prompt.method=\"shallow\""}));
      EXPECT_TRUE(torch::allclose(plain.params.at("embedding").to(torch::kFloat64), expected, 1e-5, 1e-6));
    }
}

TEST(ResidualPrompt, WithAZeroUpProjectionTrainsItsFirstStepAsTheShallowPrompt) {
  Trainer shallow(config("res-zero-shallow"), single());
  Trainer residual(config("res-zero-residual", {"prompt.method=\"residual\""}), single());
  auto p = params_of(residual.prompt());
  // The same initial P (prompt.init, train.seed) ...
  EXPECT_TRUE(torch::equal(p.at("embedding"), params_of(shallow.prompt()).at("embedding")));
  {
    torch::NoGradGuard no_grad;
    p.at("up_weight").zero_();
    p.at("up_bias").zero_();
  }
  // ... and LN(0) + P = P: the same first loss, bit for bit.
  const auto batch = shallow.next_batch();
  EXPECT_EQ(residual.step(batch).loss, shallow.step(batch).loss);
  // The MLP got gradients through P' (its down projection only through the zero up projection:
  // none; the up projection: some).
  EXPECT_GT(p.at("up_weight").grad().abs().sum().item<double>(), 0);
}

TEST(ResidualPrompt, TheExportedShallowPromptPredictsWhatTheResidualOneDoes) {
  Trainer residual(config("res-export", {"prompt.method=\"residual\""}), single());
  for (int i = 0; i < 4; ++i) residual.step();
  const auto ck = residual.snapshot();
  const auto plain = export_plain(ck, "res-export checkpoint");
  EXPECT_EQ(plain.method, "shallow");
  EXPECT_EQ(plain.params.size(), 1u);
  const auto shallow_config = RunConfig::from_string(plain.config_toml, "exported");
  EXPECT_EQ(shallow_config.prompt.method, "shallow");
  Trainer evaluator(shallow_config, single());  // a shallow prompt on the same frozen model
  evaluator.prompt().check_saved(plain.method, plain.prompt_config, "exported");
  evaluator.prompt().load_parameters(plain.params, "exported");
  const auto opts = EvalOptions::from(config("res-export"));
  auto a = evaluate(residual.frozen().model, residual.prompt(), data::Tokenizer(config("x").tokenizer_path()),
                    single(), opts);
  auto b = evaluate(evaluator.frozen().model, evaluator.prompt(), data::Tokenizer(config("x").tokenizer_path()),
                    single(), opts);
  EXPECT_EQ(a.predictions, b.predictions);
  EXPECT_EQ(a.metrics, b.metrics);
  // And a residual prompt that has trained is not its P alone: the export is not vacuous.
  EXPECT_FALSE(torch::allclose(plain.params.at("embedding"), ck.params.at("embedding"), 1e-3, 1e-4));
}

TEST(PromptCheckpoints, RefuseAnotherMethodOrOtherHyperParameters) {
  Trainer residual(config("refuse", {"prompt.method=\"residual\""}), single());
  const auto ck = residual.snapshot();
  Trainer shallow(config("refuse-shallow"), single());
  EXPECT_THROW(
      {
        try {
          shallow.restore(ck, "res.h5");
        } catch (const ptuner::Error& e) {
          EXPECT_STREQ(e.what(),
                       "checkpoint res.h5 holds a 'residual' prompt, the config asks for 'shallow' (prompt.method)");
          throw;
        }
      },
      ptuner::Error);
  Trainer wider(config("refuse-wider", {"prompt.method=\"residual\"", "prompt.residual.bottleneck=16"}), single());
  try {
    wider.restore(ck, "res.h5");
    FAIL() << "a bottleneck-8 residual prompt loaded into a bottleneck-16 one";
  } catch (const ptuner::Error& e) {
    EXPECT_STREQ(e.what(), "checkpoint res.h5: its residual prompt has bottleneck = 8, the config gives 16");
  }
  // The same hyper-parameters load, whatever the optimisation settings (dropout, rates).
  Trainer same(config("refuse-same", {"prompt.method=\"residual\"", "prompt.residual.dropout=0.1"}), single());
  EXPECT_NO_THROW(same.restore(ck, "res.h5"));
}

// A whole-model stage's loss for one batch under an injection.
double loss_with(Trainer& t, const data::Batch& b, const mp::PromptInjection& inj) {
  torch::NoGradGuard no_grad;
  mp::PipelineStage stage(t.frozen().model);
  auto mb = split_micro_batches(b, 1, inj.prefix_length()).at(0);
  auto out = stage.forward(mb, {}, inj).at(0);
  return (stage.loss(out, mb.labels, 0.0).ce / (mb.labels != mp::kIgnoreIndex).sum()).item<double>();
}

TEST(DeepPrompt, PrefixesWithoutAttentionWeightLeaveTheFrozenModelsLoss) {
  for (const auto& places : std::vector<std::vector<std::string>>{
           {"prompt.deep.encoder=true"},
           {"prompt.deep.encoder=false", "prompt.deep.decoder=true"},
           {"prompt.deep.encoder=false", "prompt.deep.cross=true"},
           {"prompt.deep.decoder=true", "prompt.deep.cross=true", "prompt.deep.reparam_hidden=8"}}) {
    auto extra = places;
    extra.push_back("prompt.method=\"deep\"");
    Trainer t(config("deep-off", extra), single());
    auto& deep = dynamic_cast<DeepPrompt&>(t.prompt());
    const auto batch = t.next_batch();
    const double bare = loss_with(t, batch, {});
    mp::MicroBatch mb;
    const double on = loss_with(t, batch, deep.injection(mb));
    deep.set_score_bias(-std::numeric_limits<double>::infinity());
    const double off = loss_with(t, batch, deep.injection(mb));
    EXPECT_NEAR(off, bare, 1e-6 * bare) << places.back();
    EXPECT_GT(std::abs(on - bare), 1e-4) << places.back() << ": the prefixes change nothing even when attended";
  }
}

TEST(DeepPrompt, StartsAsTheFrozenLayersOwnKeysAndValuesOfTheInitRows) {
  Trainer t(config("deep-init", {"prompt.method=\"deep\"", "prompt.deep.cross=true", "prompt.deep.decoder=true"}),
            single());
  auto& deep = dynamic_cast<DeepPrompt&>(t.prompt());
  const auto c = config("deep-init");
  data::Tokenizer tok(c.tokenizer_path());
  auto model = t.frozen().model;
  auto rows = initial_rows(SoftPromptInit::of(c), 6, model->config().d_model, tok,
                           [&](const torch::Tensor& ids) { return model->embed(ids); });
  const auto H = model->config().num_heads, D = model->config().d_kv;
  torch::NoGradGuard no_grad;
  for (const auto& s : deep.slots()) {
    auto x = s.cross ? rows * torch::rsqrt(rows.pow(2).mean(-1, true) + 1e-6) : rows;
    auto [k, v] = model->project_kv(s.block, x, s.cross);
    auto p = deep.prefix(s);
    EXPECT_TRUE(torch::allclose(p[0], k.view({6, H, D}).transpose(0, 1))) << s.name;
    EXPECT_TRUE(torch::allclose(p[1], v.view({6, H, D}).transpose(0, 1))) << s.name;
  }
  EXPECT_EQ(deep.slots().size(), 2u + 2u + 2u);  // encoder, decoder self, cross of the tiny model's 2 + 2 blocks
}

TEST(DeepPrompt, TheFoldedReparameterisationGivesTheSameLossAndPredictions) {
  Trainer t(config("deep-fold", {"prompt.method=\"deep\"", "prompt.deep.reparam_hidden=8", "prompt.deep.cross=true"}),
            single());
  for (int i = 0; i < 3; ++i) t.step();
  const auto ck = t.snapshot();
  const auto plain = export_plain(ck, "deep-fold checkpoint");
  EXPECT_EQ(plain.method, "deep");
  EXPECT_EQ(nlohmann::json::parse(plain.prompt_config)["reparam_hidden"], 0);
  Trainer folded(RunConfig::from_string(plain.config_toml, "exported"), single());
  folded.prompt().check_saved(plain.method, plain.prompt_config, "exported");
  folded.prompt().load_parameters(plain.params, "exported");
  const auto batch = t.next_batch();
  mp::MicroBatch mb;
  const double a = loss_with(t, batch, t.prompt().injection(mb));
  const double b = loss_with(folded, batch, folded.prompt().injection(mb));
  EXPECT_NEAR(a, b, 1e-6 * a);
  const auto opts = EvalOptions::from(config("deep-fold"));
  data::Tokenizer tok(config("x").tokenizer_path());
  EXPECT_EQ(evaluate(t.frozen().model, t.prompt(), tok, single(), opts).predictions,
            evaluate(folded.frozen().model, folded.prompt(), tok, single(), opts).predictions);
}

TEST(DeepPrompt, RecomputationKeepsThePrefixScoreBias) {
  // A finite score bias on every prefix: a step with recomputed blocks is the step without.
  std::vector<StepResult> results;
  std::vector<std::map<std::string, torch::Tensor>> grads;
  for (const char* recompute : {"false", "true"}) {
    Trainer t(config(std::string("deep-recompute-") + recompute,
                     {"prompt.method=\"deep\"", "prompt.deep.cross=true", std::string("train.recompute=") + recompute}),
              single());
    dynamic_cast<DeepPrompt&>(t.prompt()).set_score_bias(-2.0);
    results.push_back(t.step());
    grads.emplace_back();
    for (const auto& item : t.prompt().named_parameters()) grads.back()[item.key()] = item.value().grad().clone();
  }
  EXPECT_NEAR(results[1].loss, results[0].loss, 1e-6 * results[0].loss);
  for (const auto& [name, g] : grads[0]) EXPECT_TRUE(torch::allclose(grads[1].at(name), g, 1e-5, 1e-7)) << name;
}

TEST(PromptMethodNames, OlderConfigsSayPromptTuningForTheShallowPrompt) {
  const auto c = config("old-name", {"prompt.method=\"prompt-tuning\""});
  EXPECT_NO_THROW(check_prompt_method(c));
  EXPECT_EQ(whole_prompt_method(c, mp::T5Config::preset("t5-tiny"))->method(), "shallow");
  // A deep prompt adds no encoder rows: its length is not bounded by data.max_input_length (32).
  EXPECT_NO_THROW(config("long-deep", {"prompt.method=\"deep\"", "prompt.length=40"}));
  EXPECT_THROW(config("long-shallow", {"prompt.length=40"}), ptuner::Error);
}

TEST(DeepPrompt, AddsNoEncoderRowsSoTheTextKeepsTheWholeInputLength) {
  EXPECT_EQ(encoder_prefix_rows(config("rows", {"prompt.method=\"deep\""})), 0);
  EXPECT_EQ(encoder_prefix_rows(config("rows", {"prompt.method=\"residual\""})), 6);
  EXPECT_EQ(EvalOptions::from(config("rows", {"prompt.method=\"deep\""})).max_input_len, 32);
  EXPECT_EQ(EvalOptions::from(config("rows")).max_input_len, 26);
}

TEST(OptimizerGroups, TheMlpTrainsAtItsOwnRate) {
  // prompt.residual.lr far below optim.lr: after a step of AdamW (update ≈ lr per element) the
  // MLP moved by about its rate and P by about optim.lr.
  Trainer t(config("groups", {"prompt.method=\"residual\"", "optim.name=\"adamw\"", "optim.lr=0.1",
                              "prompt.residual.lr=1e-4", "prompt.residual.weight_decay=0.0"}),
            single());
  auto before = params_of(t.prompt());
  std::map<std::string, torch::Tensor> start;
  for (auto& [n, p] : before) start[n] = p.detach().clone();
  t.step();
  auto moved = [&](const std::string& n) { return (before.at(n) - start.at(n)).abs().max().item<double>(); };
  EXPECT_NEAR(moved("embedding"), 0.1, 0.01);
  EXPECT_NEAR(moved("down_weight"), 1e-4, 1e-5);
  EXPECT_NEAR(moved("up_bias"), 1e-4, 1e-5);
}

int64_t count(const std::string& preset, std::vector<std::string> sets) {
  sets.push_back("model.preset=\"" + preset + "\"");
  sets.push_back("prompt.length=100");
  const auto c = RunConfig::from_string("[data]\nmax_input_length = 512\n", "count.toml", sets);
  auto m = whole_prompt_method(c, mp::T5Config::preset(preset));
  int64_t n = 0;
  for (const auto& p : m->parameters()) n += p.numel();
  return n;
}

TEST(PromptParameterCounts, MatchTheReadmesMethodTableByHand) {
  // t5.1.1-base: d 768, 12 heads × 64, 12 + 12 blocks; xxl: d 4096, 64 heads × 64, 24 + 24 blocks.
  EXPECT_EQ(count("t5.1.1-base", {}), 100 * 768);
  EXPECT_EQ(count("t5.1.1-xxl", {}), 409600);
  // residual, bottleneck 400: P + W_down + b_down + W_up + b_up + LN weight and bias.
  EXPECT_EQ(count("t5.1.1-base", {"prompt.method=\"residual\""}),
            100 * 768 + 400 * 768 + 400 + 768 * 400 + 768 + 2 * 768);
  EXPECT_EQ(count("t5.1.1-xxl", {"prompt.method=\"residual\""}),
            100 * 4096 + 400 * 4096 + 400 + 4096 * 400 + 4096 + 2 * 4096);
  // deep (encoder): keys and values of 100 rows × 12·64 in 12 layers.
  EXPECT_EQ(count("t5.1.1-base", {"prompt.method=\"deep\""}), 12 * 2 * 100 * 768);
  EXPECT_EQ(count("t5.1.1-xxl", {"prompt.method=\"deep\""}), 24 * 2 * 100 * 4096);
  // deep everywhere: 12 encoder + 12 decoder self + 12 cross.
  EXPECT_EQ(count("t5.1.1-base", {"prompt.method=\"deep\"", "prompt.deep.decoder=true", "prompt.deep.cross=true"}),
            36 * 2 * 100 * 768);
  // deep (encoder) reparameterised, h = 512: table, Linear(d, h), per layer Linear(h, 2·768).
  EXPECT_EQ(count("t5.1.1-base", {"prompt.method=\"deep\"", "prompt.deep.reparam_hidden=512"}),
            100 * 768 + 512 * 768 + 512 + 12 * (2 * 768 * 512 + 2 * 768));
}

}  // namespace
}  // namespace ptuner::train
