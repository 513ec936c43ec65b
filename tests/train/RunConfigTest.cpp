#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "tests/TestSupport.h"
#include "train/ConfigKeys.h"
#include "train/PromptMethod.h"
#include "train/LrSchedule.h"
#include "train/RunConfig.h"

namespace ptuner::train {
namespace {

const char* kMinimal = R"(
[model]
preset = "t5-tiny"
tokenizer = "x/spiece.model"
[data]
train = "train.jsonl"
[train]
batch_size = 8
)";

std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  try {
    RunConfig::from_string(text, "cfg.toml", overrides);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(RunConfig, ReadsValuesAndDefaults) {
  auto c = RunConfig::from_string(kMinimal, "cfg.toml");
  EXPECT_EQ(c.model.preset, "t5-tiny");
  EXPECT_EQ(c.train.batch_size, 8);
  EXPECT_EQ(c.optim.name, "adafactor");
  EXPECT_DOUBLE_EQ(c.optim.lr, 0.3);
  EXPECT_EQ(c.parallel.world(), 1);
  EXPECT_EQ(c.micro_batch_size(), 8);
  EXPECT_EQ(c.eval_batch_size(), 8);  // data.eval_batch_size = 0: the micro-batch's rows
}

TEST(RunConfig, UnknownKeysAndSectionsAreErrorsNamingThem) {
  EXPECT_NE(error_of(std::string(kMinimal) + "[optim]\nlearning_rate = 0.1\n").find("unknown key 'optim.learning_rate'"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "[optimizer]\nlr = 0.1\n").find("unknown section [optimizer]"),
            std::string::npos);
}

TEST(RunConfig, MethodSubSectionsReadAsTablesAndOverrides) {
  auto c = RunConfig::from_string(std::string(kMinimal) +
                                      "[prompt]\nmethod = \"residual\"\n[prompt.residual]\nbottleneck = 64\n"
                                      "[prompt.deep]\ncross = true\n",
                                  "cfg.toml", {"prompt.residual.activation=gelu"});
  EXPECT_EQ(c.prompt.method, "residual");
  EXPECT_EQ(c.prompt.residual.bottleneck, 64);
  EXPECT_EQ(c.prompt.residual.activation, "gelu");
  EXPECT_TRUE(c.prompt.deep.cross);
  // The effective TOML (kept in checkpoints) reads back the same.
  EXPECT_EQ(RunConfig::from_string(c.toml, "again").prompt.residual.bottleneck, 64);
  EXPECT_EQ(error_of(std::string(kMinimal) + "[prompt.residual]\nbottlenek = 64\n"),
            "cfg.toml: unknown key 'prompt.residual.bottlenek' (known keys of [prompt.residual]: activation, "
            "bottleneck, dropout, layer_norm, lr, shared, weight_decay)");
  EXPECT_NE(error_of(kMinimal, {"prompt.deep.reparam=8"}).find("unknown key 'prompt.deep.reparam'"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kMinimal) + "[prompt]\nresidual = 3\n").find("'prompt.residual' must be a section"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"prompt.method=deep", "prompt.deep.encoder=false"}).find("places no prefix"),
            std::string::npos);
}

TEST(RunConfig, EveryShippedConfigReadsAndNamesARegisteredPromptMethod) {
  int n = 0;
  std::set<std::string> methods;
  for (const auto& e : std::filesystem::recursive_directory_iterator(std::string(PTUNER_SOURCE_DIR) + "/configs")) {
    if (e.path().extension() != ".toml") continue;
    SCOPED_TRACE(e.path().string());
    RunConfig c;
    ASSERT_NO_THROW(c = RunConfig::from_file(e.path().string())) << error_of(ptuner::testing::read_file(e.path()));
    EXPECT_NO_THROW(check_prompt_method(c));
    methods.insert(c.prompt.method);
    ++n;
  }
  EXPECT_GE(n, 8);
  EXPECT_EQ(methods, (std::set<std::string>{"shallow", "residual", "deep"}));
}

TEST(RunConfig, OverridesApplyAndAreValidated) {
  auto c = RunConfig::from_string(kMinimal, "cfg.toml",
                                  {"train.steps=7", "optim.name=adamw", "parallel.dp=2", "run.dir=\"a b\""});
  EXPECT_EQ(c.train.steps, 7);
  EXPECT_EQ(c.optim.name, "adamw");
  EXPECT_EQ(c.parallel.dp, 2);
  EXPECT_EQ(c.micro_batch_size(), 4);
  EXPECT_EQ(c.run.dir, "a b");
  EXPECT_LT(c.model.dropout_rate, 0);  // keep config.json's unless set
  EXPECT_DOUBLE_EQ(RunConfig::from_string(kMinimal, "cfg.toml", {"model.dropout_rate=0.0"}).model.dropout_rate, 0.0);
  EXPECT_NE(error_of(kMinimal, {"train.stepz=7"}).find("unknown key 'train.stepz'"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"steps=7"}).find("section.key"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"train.steps=abc"}).find("train.steps must be an integer"), std::string::npos);
}

TEST(RunConfig, BadValuesNameTheKeyAndValue) {
  EXPECT_NE(error_of(kMinimal, {"optim.name=sgd"}).find("optim.name 'sgd'"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"parallel.tp=0"}).find("parallel.tp must be positive, got 0"), std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"parallel.dp=3"}).find("train.batch_size 8 is not divisible by parallel.dp 3"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"model.path=\"m\""}).find("exactly one of model.path and model.preset"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"prompt.init=class-labels"}).find("needs prompt.class_labels"), std::string::npos);
  EXPECT_NE(error_of("[model\n").find("cfg.toml:1"), std::string::npos);
}

const char* kMixture = R"(
[model]
preset = "t5-tiny"
tokenizer = "x/spiece.model"
[data]
task = "boolq"
dev = "boolq/val.jsonl"
mixing = "temperature"
mixing_temperature = 2.0
[[data.mixture]]
task = "boolq"
train = "boolq/train.jsonl"
[[data.mixture]]
task = "rte"
train = "rte/train.jsonl"
[train]
batch_size = 8
)";

TEST(RunConfig, ReadsAMixture) {
  auto c = RunConfig::from_string(kMixture, "cfg.toml");
  ASSERT_EQ(c.data.mixture.size(), 2u);
  EXPECT_EQ(c.data.mixture[0].task, "boolq");
  EXPECT_EQ(c.data.mixture[1].train, "rte/train.jsonl");
  EXPECT_EQ(c.data.mixture[1].rate, 0);
  EXPECT_EQ(c.data.mixing, "temperature");
  EXPECT_DOUBLE_EQ(c.data.mixing_temperature, 2.0);
  EXPECT_EQ(c.data.mixing_cap, 524288);  // 2^19
  EXPECT_TRUE(c.data.train.empty());
  // Defaults of one-task configs.
  auto one = RunConfig::from_string(kMinimal, "cfg.toml");
  EXPECT_TRUE(one.data.mixture.empty());
  EXPECT_EQ(one.data.mixing, "proportional");
  EXPECT_EQ(one.data.prefetch, 4);
  EXPECT_EQ(one.data.tokenizer_threads, 1);
  // Explicit rates, for every entry.
  std::string rated = kMixture;
  rated.replace(rated.find("train = \"boolq/train.jsonl\""), 0, "rate = 3\n");
  rated.replace(rated.find("train = \"rte/train.jsonl\""), 0, "rate = 1.5\n");
  c = RunConfig::from_string(rated, "cfg.toml");
  EXPECT_DOUBLE_EQ(c.data.mixture[0].rate, 3.0);
  EXPECT_DOUBLE_EQ(c.data.mixture[1].rate, 1.5);
}

TEST(RunConfig, MixtureErrorsNameTheKeyAndFile) {
  auto err = [](const std::string& text, const std::vector<std::string>& o = {}) { return error_of(text, o); };
  std::string typo = kMixture;
  typo.replace(typo.find("train = \"rte/train.jsonl\""), 0, "weight = 2\n");
  EXPECT_NE(err(typo).find("cfg.toml: unknown key 'data.mixture[1].weight' (known keys of [[data.mixture]]: dev, rate, "
                           "task, train)"),
            std::string::npos)
      << err(typo);
  EXPECT_NE(err(kMinimal, {"data.mixture=[]"}).find("cfg.toml: data.mixture is empty"), std::string::npos);
  EXPECT_NE(err(kMinimal, {"data.mixture=[{task=\"boolq\", train=\"b.jsonl\"}]"})
                .find("set data.train (one task) or [[data.mixture]] (several), not both"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixture=[{task=\"boolk\", train=\"b.jsonl\"}]"})
                .find("cfg.toml: data.mixture[0].task: unknown task 'boolk' (known: boolq"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixture=[{task=\"boolq\"}]"}).find("data.mixture[0].train must be set"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixture=[{task=\"boolq\", train=\"a\", rate=1}, {task=\"rte\", train=\"b\"}]"})
                .find("gives a rate for 1 of 2 entries"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixture=[{task=\"boolq\", train=\"a\", rate=0}]"})
                .find("data.mixture[0].rate must be a number > 0"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixture=\"boolq\""}).find("data.mixture must be an array of tables"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixing=uniform"}).find("data.mixing 'uniform' is not one of: proportional, temperature"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixing=proportional"})
                .find("data.mixing_temperature 2 applies to data.mixing = \"temperature\" only"),
            std::string::npos);
  EXPECT_NE(err(kMixture, {"data.mixing_cap=0"}).find("data.mixing_cap must be >= 1, got 0"), std::string::npos);
  EXPECT_NE(err(kMinimal, {"data.prefetch=-1"}).find("data.prefetch must be >= 0, got -1"), std::string::npos);
}

// The same run with model.path instead of model.preset, and with a mixture instead of data.train.
const char* kWithPath = R"(
[model]
path = "m"
[data]
train = "train.jsonl"
[train]
batch_size = 8
)";

const ConfigKey& key_named(std::string_view path) {
  for (const auto& k : config_keys())
    if (k.path() == path) return k;
  throw std::runtime_error("no config key " + std::string(path));
}

// One --set per key of the table (plus the companions a cross-key rule needs), and the struct
// field read back directly.
struct RoundTrip {
  std::vector<std::string> sets;  // the first sets the key under test
  std::function<void(const RunConfig&)> expect;
  const char* base = kMinimal;
};

std::vector<RoundTrip> round_trips() {
  return {
      {{"run.dir=\"r/x\""}, [](const RunConfig& c) { EXPECT_EQ(c.run.dir, "r/x"); }},
      {{"model.path=\"m2\""}, [](const RunConfig& c) { EXPECT_EQ(c.model.path, "m2"); }, kWithPath},
      {{"model.preset=t5-small"}, [](const RunConfig& c) { EXPECT_EQ(c.model.preset, "t5-small"); }},
      {{"model.seed=7"}, [](const RunConfig& c) { EXPECT_EQ(c.model.seed, 7u); }},
      {{"model.dtype=bfloat16"}, [](const RunConfig& c) { EXPECT_EQ(c.model.dtype, "bfloat16"); }},
      {{"model.device=cuda"}, [](const RunConfig& c) { EXPECT_EQ(c.model.device, "cuda"); }},
      {{"model.tokenizer=\"t/sp.model\""}, [](const RunConfig& c) { EXPECT_EQ(c.model.tokenizer, "t/sp.model"); }},
      {{"model.dropout_rate=0.25"}, [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.model.dropout_rate, 0.25); }},
      {{"data.train=\"t2.jsonl\""}, [](const RunConfig& c) { EXPECT_EQ(c.data.train, "t2.jsonl"); }},
      {{"data.dev=\"d.jsonl\""}, [](const RunConfig& c) { EXPECT_EQ(c.data.dev, "d.jsonl"); }},
      {{"data.task=boolq"}, [](const RunConfig& c) { EXPECT_EQ(c.data.task, "boolq"); }},
      {{"data.task_prefix=true"}, [](const RunConfig& c) { EXPECT_TRUE(c.data.task_prefix); }},
      {{"data.bucket_by_length=false"}, [](const RunConfig& c) { EXPECT_FALSE(c.data.bucket_by_length); }},
      {{"data.max_input_length=300"}, [](const RunConfig& c) { EXPECT_EQ(c.data.max_input_length, 300); }},
      {{"data.max_target_length=16"}, [](const RunConfig& c) { EXPECT_EQ(c.data.max_target_length, 16); }},
      {{"data.on_error=skip"}, [](const RunConfig& c) { EXPECT_EQ(c.data.on_error, "skip"); }},
      {{"data.shuffle_buffer=77"}, [](const RunConfig& c) { EXPECT_EQ(c.data.shuffle_buffer, 77); }},
      {{"data.eval_max_examples=5"}, [](const RunConfig& c) { EXPECT_EQ(c.data.eval_max_examples, 5); }},
      {{"data.eval_batch_size=24"}, [](const RunConfig& c) {
         EXPECT_EQ(c.data.eval_batch_size, 24);
         EXPECT_EQ(c.eval_batch_size(), 24);
       }},
      {{"data.eval_method=rank"}, [](const RunConfig& c) { EXPECT_EQ(c.data.eval_method, "rank"); }},
      {{"data.prefetch=0"}, [](const RunConfig& c) { EXPECT_EQ(c.data.prefetch, 0); }},
      {{"data.tokenizer_threads=3"}, [](const RunConfig& c) { EXPECT_EQ(c.data.tokenizer_threads, 3); }},
      {{"data.eval_set=[{dev=\"ood.jsonl\", name=\"ood\"}]", "data.dev=\"d.jsonl\""},
       [](const RunConfig& c) {
         ASSERT_EQ(c.data.eval_set.size(), 1u);
         EXPECT_EQ(c.data.eval_set[0].dev, "ood.jsonl");
         EXPECT_EQ(c.data.eval_set[0].name, "ood");
         EXPECT_EQ(c.data.eval_set[0].task, "");
       }},
      {{"data.mixture=[{task=\"rte\", train=\"r.jsonl\", rate=2}]"},
       [](const RunConfig& c) {
         ASSERT_EQ(c.data.mixture.size(), 1u);
         EXPECT_EQ(c.data.mixture[0].task, "rte");
         EXPECT_EQ(c.data.mixture[0].train, "r.jsonl");
         EXPECT_DOUBLE_EQ(c.data.mixture[0].rate, 2.0);
       },
       kMixture},
      {{"data.mixing=temperature"}, [](const RunConfig& c) { EXPECT_EQ(c.data.mixing, "temperature"); }},
      {{"data.mixing_cap=1024"}, [](const RunConfig& c) { EXPECT_EQ(c.data.mixing_cap, 1024); }},
      {{"data.mixing_temperature=2.5", "data.mixing=temperature"},
       [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.data.mixing_temperature, 2.5); }},
      {{"train.steps=7"}, [](const RunConfig& c) { EXPECT_EQ(c.train.steps, 7); }},
      {{"train.batch_size=16"}, [](const RunConfig& c) { EXPECT_EQ(c.train.batch_size, 16); }},
      {{"train.grad_accum=2"}, [](const RunConfig& c) { EXPECT_EQ(c.train.grad_accum, 2); }},
      {{"train.seed=11"}, [](const RunConfig& c) { EXPECT_EQ(c.train.seed, 11u); }},
      {{"train.log_every=3"}, [](const RunConfig& c) { EXPECT_EQ(c.train.log_every, 3); }},
      {{"train.eval_every=50"}, [](const RunConfig& c) { EXPECT_EQ(c.train.eval_every, 50); }},
      {{"train.save_every=100"}, [](const RunConfig& c) { EXPECT_EQ(c.train.save_every, 100); }},
      {{"train.best_metric=f1"}, [](const RunConfig& c) { EXPECT_EQ(c.train.best_metric, "f1"); }},
      {{"train.z_loss=0.001"}, [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.train.z_loss, 0.001); }},
      {{"train.recompute=true"}, [](const RunConfig& c) { EXPECT_TRUE(c.train.recompute); }},
      {{"prompt.method=residual-test"}, [](const RunConfig& c) { EXPECT_EQ(c.prompt.method, "residual-test"); }},
      {{"prompt.length=20"}, [](const RunConfig& c) { EXPECT_EQ(c.prompt.length, 20); }},
      {{"prompt.init=uniform"}, [](const RunConfig& c) { EXPECT_EQ(c.prompt.init, "uniform"); }},
      {{"prompt.init_text=\"a b\""}, [](const RunConfig& c) { EXPECT_EQ(c.prompt.init_text, "a b"); }},
      {{"prompt.class_labels=[\"yes\", \"no\"]"},
       [](const RunConfig& c) { EXPECT_EQ(c.prompt.class_labels, (std::vector<std::string>{"yes", "no"})); }},
      {{"prompt.sample_top=100"}, [](const RunConfig& c) { EXPECT_EQ(c.prompt.sample_top, 100); }},
      {{"optim.name=adamw"}, [](const RunConfig& c) { EXPECT_EQ(c.optim.name, "adamw"); }},
      {{"optim.lr=0.01"}, [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.optim.lr, 0.01); }},
      {{"optim.schedule=warmup-rsqrt"}, [](const RunConfig& c) { EXPECT_EQ(c.optim.schedule, "warmup-rsqrt"); }},
      {{"optim.warmup_steps=10"}, [](const RunConfig& c) { EXPECT_EQ(c.optim.warmup_steps, 10); }},
      {{"optim.decay_rate=0.5"}, [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.optim.decay_rate, 0.5); }},
      {{"optim.clipping_threshold=2.0"},
       [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.optim.clipping_threshold, 2.0); }},
      {{"optim.weight_decay=0.0"}, [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.optim.weight_decay, 0.0); }},
      {{"optim.factored=true"}, [](const RunConfig& c) { EXPECT_TRUE(c.optim.factored); }},
      {{"train.save_every_minutes=5.5"}, [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.train.save_every_minutes, 5.5); }},
      {{"train.max_nonfinite_steps=3"}, [](const RunConfig& c) { EXPECT_EQ(c.train.max_nonfinite_steps, 3); }},
      {{"train.auto_resume=\"never\""}, [](const RunConfig& c) { EXPECT_EQ(c.train.auto_resume, "never"); }},
      {{"prompt.init_file=\"src.h5\""}, [](const RunConfig& c) { EXPECT_EQ(c.prompt.init_file, "src.h5"); }},
      {{"prompt.init_file_resize=tile"}, [](const RunConfig& c) { EXPECT_EQ(c.prompt.init_file_resize, "tile"); }},
      {{"prompt.residual.bottleneck=64"}, [](const RunConfig& c) { EXPECT_EQ(c.prompt.residual.bottleneck, 64); }},
      {{"prompt.residual.activation=gelu"},
       [](const RunConfig& c) { EXPECT_EQ(c.prompt.residual.activation, "gelu"); }},
      {{"prompt.residual.layer_norm=false"}, [](const RunConfig& c) { EXPECT_FALSE(c.prompt.residual.layer_norm); }},
      {{"prompt.residual.shared=false"}, [](const RunConfig& c) { EXPECT_FALSE(c.prompt.residual.shared); }},
      {{"prompt.residual.dropout=0.1"}, [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.prompt.residual.dropout, 0.1); }},
      {{"prompt.residual.lr=0.01"}, [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.prompt.residual.lr, 0.01); }},
      {{"prompt.residual.weight_decay=0.0"},
       [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.prompt.residual.weight_decay, 0.0); }},
      {{"prompt.deep.encoder=false", "prompt.deep.decoder=true"},
       [](const RunConfig& c) { EXPECT_FALSE(c.prompt.deep.encoder); }},
      {{"prompt.deep.decoder=true"}, [](const RunConfig& c) { EXPECT_TRUE(c.prompt.deep.decoder); }},
      {{"prompt.deep.cross=true"}, [](const RunConfig& c) { EXPECT_TRUE(c.prompt.deep.cross); }},
      {{"prompt.deep.reparam_hidden=512"}, [](const RunConfig& c) { EXPECT_EQ(c.prompt.deep.reparam_hidden, 512); }},
      {{"prompt.deep.lr=0.005"}, [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.prompt.deep.lr, 0.005); }},
      {{"prompt.deep.weight_decay=0.01"},
       [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.prompt.deep.weight_decay, 0.01); }},
      {{"optim.beta1=0.8"}, [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.optim.beta1, 0.8); }},
      {{"optim.beta2=0.99"}, [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.optim.beta2, 0.99); }},
      {{"optim.eps=1e-6"}, [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.optim.eps, 1e-6); }},
      {{"dist.timeout_s=20.0"}, [](const RunConfig& c) { EXPECT_DOUBLE_EQ(c.dist.timeout_s, 20.0); }},
      {{"parallel.tp=2"}, [](const RunConfig& c) { EXPECT_EQ(c.parallel.tp, 2); }},
      {{"parallel.pp=2"}, [](const RunConfig& c) { EXPECT_EQ(c.parallel.pp, 2); }},
      {{"parallel.dp=2"}, [](const RunConfig& c) { EXPECT_EQ(c.parallel.dp, 2); }},
      {{"parallel.micro_batches=4"}, [](const RunConfig& c) { EXPECT_EQ(c.pipeline.micro_batches, 4); }},
      {{"parallel.schedule=gpipe"}, [](const RunConfig& c) { EXPECT_EQ(c.pipeline.schedule, "gpipe"); }},
      {{"parallel.stage_blocks=[3, 1]", "parallel.pp=2"},
       [](const RunConfig& c) { EXPECT_EQ(c.pipeline.stage_blocks, (std::vector<int64_t>{3, 1})); }},
  };
}

TEST(ConfigKeys, EveryKeyRoundTripsThroughSetIntoItsOwnField) {
  std::set<std::string> covered;
  for (const auto& rt : round_trips()) {
    const std::string path = rt.sets.front().substr(0, rt.sets.front().find('='));
    SCOPED_TRACE(rt.sets.front());
    covered.insert(path);
    const auto& key = key_named(path);
    const auto base = RunConfig::from_string(rt.base, "cfg.toml");
    RunConfig c;
    ASSERT_NO_THROW(c = RunConfig::from_string(rt.base, "cfg.toml", rt.sets)) << error_of(rt.base, rt.sets);
    rt.expect(c);
    // The key's field changed, and no key outside the --set list did.
    EXPECT_NE(key.toml_value(c), key.toml_value(base));
    for (const auto& other : config_keys()) {
      bool set = false;
      for (const auto& s : rt.sets) set = set || s.rfind(other.path() + "=", 0) == 0;
      if (!set) {
        EXPECT_EQ(other.toml_value(c), other.toml_value(base)) << other.path();
      }
    }
  }
  std::set<std::string> all;
  for (const auto& k : config_keys()) all.insert(k.path());
  EXPECT_EQ(covered, all) << "give every key of train/ConfigKeys.cpp a round trip here";
}

TEST(ConfigKeys, DefaultsAreTheStructsAndPassTheirChecks) {
  RunConfig d;
  d.source = "defaults";
  EXPECT_EQ(key_named("train.steps").default_toml(), "1000");
  EXPECT_EQ(key_named("optim.lr").default_toml(), "0.3");
  EXPECT_EQ(key_named("train.z_loss").default_toml(), "0.0001");
  EXPECT_EQ(key_named("optim.eps").default_toml(), "1e-8");
  EXPECT_EQ(key_named("model.dropout_rate").default_toml(), "-1.0");
  EXPECT_EQ(key_named("data.mixing_temperature").default_toml(), "1.0");
  EXPECT_EQ(key_named("model.dtype").default_toml(), "\"float32\"");
  EXPECT_EQ(key_named("data.bucket_by_length").default_toml(), "true");
  EXPECT_EQ(key_named("data.mixing_cap").default_toml(), "524288");
  EXPECT_EQ(key_named("parallel.tp").default_toml(), "1");
  EXPECT_EQ(key_named("parallel.stage_blocks").default_toml(), "[]");
  EXPECT_EQ(key_named("prompt.class_labels").default_toml(), "[]");
  EXPECT_EQ(key_named("data.mixture").default_toml(), "[]");
  const auto minimal = RunConfig::from_string(kMinimal, "cfg.toml");
  for (const auto& k : config_keys()) {
    SCOPED_TRACE(k.path());
    EXPECT_NO_THROW(k.validate(d));
    if (k.type() == "array of tables") continue;  // an empty [[data.mixture]] is an error, absent is the default
    // A key not in kMinimal reads as the struct's default, and setting it to its default changes nothing.
    if (k.section != "model" && k.path() != "data.train" && k.path() != "train.batch_size") {
      EXPECT_EQ(k.toml_value(minimal), k.default_toml());
      const auto same = RunConfig::from_string(kMinimal, "cfg.toml", {k.path() + "=" + k.default_toml()});
      EXPECT_EQ(k.toml_value(same), k.default_toml());
    }
  }
  EXPECT_EQ(minimal.train.steps, d.train.steps);
  EXPECT_EQ(minimal.data.max_input_length, 512);
  EXPECT_EQ(minimal.prompt.init, "sampled-vocab");
}

TEST(ConfigKeys, ValuesPrintAsTomlThatReadsBack) {
  const auto c = RunConfig::from_string(kMinimal, "cfg.toml",
                                        {"run.dir=\"a \\\"q\\\" \\\\ b\"", "prompt.class_labels=[\"x\", \"y z\"]",
                                         "optim.eps=1e-6", "parallel.stage_blocks=[1]"});
  EXPECT_EQ(c.run.dir, "a \"q\" \\ b");
  EXPECT_EQ(key_named("run.dir").toml_value(c), "\"a \\\"q\\\" \\\\ b\"");
  EXPECT_EQ(key_named("prompt.class_labels").toml_value(c), "[\"x\", \"y z\"]");
  EXPECT_EQ(key_named("optim.eps").toml_value(c), "1e-6");
  EXPECT_EQ(key_named("parallel.stage_blocks").toml_value(c), "[1]");
  for (const char* path : {"run.dir", "prompt.class_labels", "optim.eps", "parallel.stage_blocks"}) {
    const auto& k = key_named(path);
    const auto again = RunConfig::from_string(kMinimal, "cfg.toml", {k.path() + "=" + k.toml_value(c)});
    EXPECT_EQ(k.toml_value(again), k.toml_value(c)) << path;
  }
  const auto m = RunConfig::from_string(kMixture, "cfg.toml", {"data.mixture=[{task=\"rte\", train=\"r\", rate=1.5}]"});
  EXPECT_EQ(key_named("data.mixture").toml_value(m), "[{task = \"rte\", train = \"r\", rate = 1.5}]");
}

TEST(ConfigKeys, ABadTypeOrAValueOutsideTheCheckNamesTheKey) {
  for (const auto& k : config_keys()) {
    SCOPED_TRACE(k.path());
    const std::string type = k.type();
    const std::string bad = type == "string" ? "42" : type == "bool" ? "\"yes\"" : type == "string array" ? "7"
                           : type == "int array"                     ? "[\"a\"]"
                                                                     : "\"abc\"";
    const std::string want = type == "string"         ? "must be a string"
                             : type == "bool"         ? "must be true or false"
                             : type == "int" || type == "uint" ? "must be an integer"
                             : type == "double"       ? "must be a number"
                             : type == "string array" ? "must be an array of strings"
                             : type == "int array"    ? "must be an array of integers"
                                                      : "must be an array of tables";
    const auto err = error_of(kMinimal, {k.path() + "=" + bad});
    EXPECT_NE(err.find("cfg.toml: " + k.path() + " " + want), std::string::npos) << err;

    const auto& check = k.check;
    std::string value, message;
    switch (check.kind) {
      case ConfigCheck::Kind::None:
        continue;
      case ConfigCheck::Kind::OneOf: {
        value = "bogus-choice";
        std::string names;
        for (const auto& n : check.choices) names += (names.empty() ? "" : ", ") + n;
        message = k.path() + " 'bogus-choice' is not one of: " + names;
        break;
      }
      case ConfigCheck::Kind::Positive:
        value = type == "double" ? "0.0" : "0";
        message = k.path() + " must be positive, got 0";
        break;
      case ConfigCheck::Kind::AtLeast:
        value = type == "double" ? fmt::format("{:.1f}", check.bound - 1) : fmt::format("{}", check.bound - 1);
        message = fmt::format("{} must be >= {}, got {}", k.path(), check.bound, check.bound - 1);
        break;
      case ConfigCheck::Kind::Below:
        value = type == "double" ? fmt::format("{:.1f}", check.bound) : fmt::format("{}", check.bound);
        message = fmt::format("{} must be below {}, got {}", k.path(), check.bound, check.bound);
        break;
    }
    const auto out = error_of(kMinimal, {k.path() + "=" + value});
    EXPECT_NE(out.find("cfg.toml: " + message), std::string::npos) << out;
  }
  // The checks the table gives, by name.
  EXPECT_EQ(key_named("optim.name").check.choices, (std::vector<std::string>{"adafactor", "adamw"}));
  EXPECT_EQ(key_named("data.prefetch").check.str(), "≥ 0");
  EXPECT_EQ(key_named("model.dropout_rate").check.str(), "< 1");
  EXPECT_EQ(key_named("train.steps").check.str(), "> 0");
  EXPECT_NE(error_of(kMinimal, {"model.seed=-1"}).find("model.seed must be an integer >= 0, got -1"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"parallel.tp=4294967297"}).find("parallel.tp = 4294967297 is out of range"),
            std::string::npos);
}

TEST(ConfigKeys, UnknownKeysListTheSectionsKeysFromTheTable) {
  std::string known;
  for (const auto& n : config_key_names("optim")) known += (known.empty() ? "" : ", ") + n;
  EXPECT_EQ(known, "beta1, beta2, clipping_threshold, decay_rate, eps, factored, lr, name, schedule, warmup_steps, "
                   "weight_decay");
  EXPECT_NE(error_of(kMinimal, {"optim.learning_rate=0.1"})
                .find("cfg.toml: unknown key 'optim.learning_rate' (known keys of [optim]: " + known + ")"),
            std::string::npos);
  EXPECT_NE(error_of(kMinimal, {"parallel.stages=2"}).find("known keys of [parallel]: dp, micro_batches, pp, schedule, "
                                                            "stage_blocks, tp)"),
            std::string::npos);
  EXPECT_TRUE(config_key_names("optimizer").empty());
}

// README.md's configuration table is config_keys_markdown(), between its marker comments.
TEST(ConfigKeys, ReadmeTableIsTheGeneratedOne) {
  std::ifstream in(std::string(PTUNER_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in.good()) << PTUNER_SOURCE_DIR << "/README.md";
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string readme = ss.str();
  const std::string begin = "<!-- config-keys:begin -->\n", end = "<!-- config-keys:end -->";
  const auto b = readme.find(begin), e = readme.find(end);
  ASSERT_NE(b, std::string::npos) << "README.md lacks " << begin;
  ASSERT_NE(e, std::string::npos) << "README.md lacks " << end;
  ASSERT_LT(b, e);
  const std::string table = readme.substr(b + begin.size(), e - b - begin.size());
  EXPECT_EQ(table, config_keys_markdown())
      << "README.md's configuration table differs from train/ConfigKeys.cpp's keys. Regenerate it with "
         "`launch/update-readme-config` (after building the `ptuner` target), or paste the output of "
         "`ptuner config keys --markdown` between the config-keys markers.";
  EXPECT_NE(table.find("| `train.steps` | int | `1000` | > 0 | optimizer steps |"), std::string::npos);
}

TEST(RunConfig, EvalSetsTakeTheirDefaultsAndErrorsNameTheEntry) {
  // Lester et al.'s domain shift: SQuAD trained and selected on its dev, six MRQA sets beside it.
  const auto c = RunConfig::from_string(kMinimal, "cfg.toml",
                                        {"data.task=mrqa", "data.dev=\"SQuAD-dev.jsonl.gz\"",
                                         "data.eval_set=[{dev=\"TextbookQA.jsonl.gz\", name=\"textbookqa\"}, "
                                         "{dev=\"BioASQ.jsonl.gz\", name=\"bioasq\"}, {dev=\"mm.tsv\", task=\"mnli\"}]"});
  ASSERT_EQ(c.data.eval_set.size(), 3u);
  EXPECT_EQ(c.data.eval_set_entry(0).task, "mrqa");  // data.task's
  EXPECT_EQ(c.data.eval_set_entry(1).name, "bioasq");
  EXPECT_EQ(c.data.eval_set_entry(2).name, "mnli");  // the task's
  EXPECT_EQ(c.data.eval_set_entry(2).task, "mnli");
  EXPECT_EQ(c.data.eval_set[2].name, "");            // defaults are filled in on use, not stored
  EXPECT_EQ(key_named("data.eval_set").toml_value(c),
            "[{dev = \"TextbookQA.jsonl.gz\", name = \"textbookqa\"}, {dev = \"BioASQ.jsonl.gz\", name = \"bioasq\"}, "
            "{dev = \"mm.tsv\", task = \"mnli\"}]");
  auto err = [](std::vector<std::string> o) {
    o.push_back("data.dev=\"d.jsonl\"");
    return error_of(kMinimal, o);
  };
  EXPECT_NE(err({"data.eval_set=[{dev=\"a\", file=\"b\"}]"})
                .find("cfg.toml: unknown key 'data.eval_set[0].file' (known keys of [[data.eval_set]]: dev, name, task)"),
            std::string::npos);
  EXPECT_NE(err({"data.eval_set=[{name=\"a\"}]"}).find("cfg.toml: data.eval_set[0].dev must be set"),
            std::string::npos);
  EXPECT_NE(err({"data.eval_set=[{dev=\"a\", name=\"\"}]"}).find("data.eval_set[0].name must be a non-empty string"),
            std::string::npos);
  EXPECT_EQ(err({"data.eval_set=[]"}), "");  // no further sets: drops a config's
  EXPECT_TRUE(RunConfig::from_string(kMinimal, "cfg.toml", {"data.eval_set=[]"}).data.eval_set.empty());
  EXPECT_NE(err({"data.eval_set=[{dev=\"a\", task=\"squad\"}]"})
                .find("cfg.toml: data.eval_set[0].task: unknown task 'squad' (known: boolq"),
            std::string::npos);
  EXPECT_NE(err({"data.eval_set=[{dev=\"a\", name=\"mnli/mm\"}]"})
                .find("data.eval_set[0].name 'mnli/mm' cannot name metrics"),
            std::string::npos);
  EXPECT_NE(err({"data.eval_set=[{dev=\"a\", name=\"average\"}]"}).find("data.eval_set[0].name 'average' cannot"),
            std::string::npos);
  // Two sets of data.task without names would both be "jsonl".
  EXPECT_NE(err({"data.eval_set=[{dev=\"a\"}, {dev=\"b\"}]"})
                .find("data.eval_set[1] is named 'jsonl' as data.eval_set[0] is: its metrics would be mixed up"),
            std::string::npos);
  EXPECT_NE(error_of(kMixture, {"data.dev=\"\"", "data.mixture=[{task=\"rte\", train=\"r\", dev=\"rd\"}]",
                                "data.eval_set=[{dev=\"a\", task=\"rte\"}]"})
                .find("data.eval_set[0] is named 'rte' as the [[data.mixture]] entry of task 'rte' is"),
            std::string::npos);
  EXPECT_NE(error_of(kMixture, {"data.dev=\"\"", "data.mixture=[{task=\"rte\", train=\"r\", dev=\"rd\"}]",
                                "data.eval_set=[{dev=\"a\", name=\"other\"}]"})
                .find("data.eval_set[0].task must be set in a mixture evaluated on its entries' dev files (data.task, "
                      "'boolq', reads none of them)"),
            std::string::npos);
  // Beside a main dev set only: it keeps checkpoint-best unless train.best_metric names another.
  EXPECT_NE(error_of(kMinimal, {"data.eval_set=[{dev=\"a\"}]"})
                .find("data.eval_set is evaluated beside a main dev set: set data.dev (or a [[data.mixture]] entry's "
                      "dev) as well"),
            std::string::npos);
  EXPECT_EQ(error_of(kMixture, {"data.dev=\"\"", "data.mixture=[{task=\"rte\", train=\"r\", dev=\"rd\"}]",
                                "data.eval_set=[{dev=\"a\", task=\"rte\", name=\"rte_again\"}]"}),
            "");
}

TEST(LrSchedule, ShapesByHand) {
  EXPECT_DOUBLE_EQ(LrSchedule("constant", 0.3, 0, 100).at(57), 0.3);
  LrSchedule warm("warmup-constant", 1.0, 4, 100);
  EXPECT_DOUBLE_EQ(warm.at(0), 0.25);
  EXPECT_DOUBLE_EQ(warm.at(3), 1.0);
  EXPECT_DOUBLE_EQ(warm.at(50), 1.0);
  LrSchedule lin("warmup-linear", 1.0, 10, 110);
  EXPECT_DOUBLE_EQ(lin.at(4), 0.5);
  EXPECT_DOUBLE_EQ(lin.at(60), 0.5);  // (110 − 60)/(110 − 10)
  LrSchedule rsqrt("warmup-rsqrt", 1.0, 100, 1000);
  EXPECT_DOUBLE_EQ(rsqrt.at(399), 0.5);  // √(100/400)
}

}  // namespace
}  // namespace ptuner::train
