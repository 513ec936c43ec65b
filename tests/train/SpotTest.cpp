// SPoT on one rank: both task similarities by hand, retrieval weights, transfer init (the target
// starts from exactly the source prompt and its checkpoint names the source), HF PEFT adapters
// (the header PEFT reads, a bit-for-bit round trip, an adapter as a transfer source), and the
// nearest vocabulary items of prompt tokens.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "dist/Check.h"
#include "tests/train/TinyTrainerRun.h"
#include "data/Collator.h"
#include "data/TaskReader.h"
#include "train/Evaluator.h"
#include "train/PeftAdapter.h"
#include "train/PromptTable.h"
#include "train/PromptExport.h"
#include "train/Spot.h"
#include "train/Trainer.h"

namespace ptuner::train {
namespace {

using ptuner::testing::single_rank;
using ptuner::testing::tiny_trainer_config;
using ptuner::testing::tiny_trainer_env;

double cosine(const std::vector<double>& a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) ab += a[i] * b[i], aa += a[i] * a[i], bb += b[i] * b[i];
  return ab / std::sqrt(aa * bb);
}

TEST(SpotSimilarity, BothMetricsByHandOnTwoTokenPrompts) {
  const std::vector<std::vector<double>> a = {{1, 2, 0}, {0, 1, -1}}, b = {{2, 0, 1}, {-1, 1, 3}};
  auto t = [](const std::vector<std::vector<double>>& rows) {
    return torch::tensor({rows[0][0], rows[0][1], rows[0][2], rows[1][0], rows[1][1], rows[1][2]}).view({2, 3});
  };
  // cos(mean a, mean b): means (0.5, 1.5, −0.5) and (0.5, 0.5, 2).
  EXPECT_NEAR(average_token_cosine(t(a), t(b)), cosine({0.5, 1.5, -0.5}, {0.5, 0.5, 2}), 1e-6);
  double sum = 0;
  for (const auto& x : a)
    for (const auto& y : b) sum += cosine(x, y);
  EXPECT_NEAR(per_token_cosine(t(a), t(b)), sum / 4, 1e-6);
  EXPECT_NEAR(average_token_cosine(t(a), t(a)), 1.0, 1e-12);
  EXPECT_THROW(per_token_cosine(t(a), torch::ones({2, 4})), ptuner::Error);  // another d_model
}

TEST(SpotRetrieval, WeightsSumToOneAndTopOneIsTheSourceItself) {
  torch::manual_seed(3);
  auto target = torch::randn({4, 8});
  std::vector<torch::Tensor> sources = {torch::randn({4, 8}), target + 0.1 * torch::randn({4, 8}), torch::randn({4, 8})};
  const std::vector<std::string> names = {"a", "near", "c"};
  for (const std::string metric : {"average-token", "per-token"}) {
    const auto ranked = rank_sources(target, sources, names, metric);
    EXPECT_EQ(ranked.front().source, "near") << metric;
    for (size_t i = 1; i < ranked.size(); ++i) EXPECT_GE(ranked[i - 1].score(metric), ranked[i].score(metric));
    for (int64_t k = 1; k <= 3; ++k) {
      const auto w = top_k_weights(ranked, k, metric);
      EXPECT_NEAR(std::accumulate(w.begin(), w.end(), 0.0), 1.0, 1e-12) << metric << " k " << k;
      for (double x : w) EXPECT_GE(x, 0.0);
    }
    // Top-1: the best source's prompt itself.
    EXPECT_EQ(top_k_weights(ranked, 1, metric), std::vector<double>{1.0});
    EXPECT_TRUE(torch::equal(weighted_prompt({sources[1]}, {1.0}), sources[1]));
  }
  // Weights proportional to the similarity; negative similarities count as 0.
  std::vector<SourceScore> made = {{"x", 0.6, 0.6}, {"y", 0.2, 0.2}, {"z", -0.3, -0.3}};
  const auto w = top_k_weights(made, 3, "per-token");
  EXPECT_NEAR(w.at(0), 0.75, 1e-12);
  EXPECT_NEAR(w.at(1), 0.25, 1e-12);
  EXPECT_EQ(w.at(2), 0.0);
  EXPECT_TRUE(torch::allclose(weighted_prompt({torch::ones({2, 2}), torch::zeros({2, 2})}, {0.75, 0.25}),
                              torch::full({2, 2}, 0.75)));
  EXPECT_THROW(top_k_weights(made, 4, "per-token"), ptuner::Error);
}

TEST(SpotTransfer, FitsOtherLengthsOnlyWhenAsked) {
  auto rows = torch::arange(6, torch::kFloat32).view({3, 2});
  EXPECT_TRUE(torch::equal(fit_rows(rows, 3, 2, "none", "src"), rows));
  EXPECT_TRUE(torch::equal(fit_rows(rows, 2, 2, "truncate", "src"), rows.narrow(0, 0, 2)));
  EXPECT_TRUE(torch::equal(fit_rows(rows, 5, 2, "tile", "src"),
                           torch::cat({rows, rows.narrow(0, 0, 2)})));
  try {
    fit_rows(rows, 4, 2, "none", "src.h5");
    FAIL() << "a 3-token prompt filled a 4-token one";
  } catch (const ptuner::Error& e) {
    EXPECT_STREQ(e.what(), "src.h5: its prompt has 3 tokens, prompt.length is 4 (set prompt.init_file_resize = "
                           "\"truncate\" or \"tile\" to fit it)");
  }
  EXPECT_THROW(fit_rows(rows, 4, 2, "truncate", "src"), ptuner::Error);
  EXPECT_THROW(fit_rows(rows, 3, 4, "none", "src"), ptuner::Error);  // another d_model
}

// A trained source run's checkpoint (shallow, 6 tokens).
const std::string& source_checkpoint() {
  static const std::string path = [] {
    Trainer t(tiny_trainer_config("spot-source", {"train.steps=3"}), single_rank());
    for (int i = 0; i < 3; ++i) t.step();
    const std::string p = tiny_trainer_env().root + "/spot-source.h5";
    t.snapshot().save(p);
    return p;
  }();
  return path;
}

TEST(SpotTransfer, TheTargetStartsFromExactlyTheSourcePromptAndNamesIt) {
  const auto source = Checkpoint::load(source_checkpoint());
  Trainer target(tiny_trainer_config("spot-target", {"prompt.init=\"file\"", "prompt.init_file=\"" +
                                                                                   source_checkpoint() + "\""}),
                 single_rank());
  const auto start = target.snapshot();
  EXPECT_TRUE(torch::equal(start.params.at("embedding"), source.params.at("embedding")));
  EXPECT_EQ(start.init_file, std::filesystem::absolute(source_checkpoint()).string());
  EXPECT_EQ(start.init_digest, tensor_digest(source.params.at("embedding")));
  EXPECT_EQ(start.init_fingerprint, source.model_fingerprint);
  target.step();
  // The record stays with the run: saved, loaded, and restored into a resumed trainer.
  const std::string path = tiny_trainer_env().root + "/spot-target.h5";
  target.snapshot().save(path);
  const auto loaded = Checkpoint::load(path);
  EXPECT_EQ(loaded.init_file, start.init_file);
  EXPECT_EQ(loaded.init_digest, start.init_digest);
  Trainer resumed(tiny_trainer_config("spot-resumed"), single_rank());
  resumed.restore(loaded, path);
  EXPECT_EQ(resumed.snapshot().init_file, start.init_file);
  // A residual target takes the source as its P.
  Trainer residual(tiny_trainer_config("spot-residual", {"prompt.method=\"residual\"", "prompt.residual.bottleneck=4",
                                                         "prompt.init=\"file\"",
                                                         "prompt.init_file=\"" + source_checkpoint() + "\""}),
                   single_rank());
  EXPECT_TRUE(torch::equal(residual.snapshot().params.at("embedding"), source.params.at("embedding")));
}

TEST(SpotTransfer, RefusesASourceOfAnotherModelOrLength) {
  const auto& e = tiny_trainer_env();
  auto other = [&](std::vector<std::string> extra) {
    extra.push_back("prompt.init=\"file\"");
    extra.push_back("prompt.init_file=\"" + source_checkpoint() + "\"");
    return tiny_trainer_config("spot-refused", extra);
  };
  try {
    Trainer t(other({"model.path=\"" + e.other_model + "\""}), single_rank());
    FAIL() << "a prompt of another frozen model was transferred";
  } catch (const ptuner::Error& err) {
    EXPECT_NE(std::string(err.what()).find("was trained on another frozen model"), std::string::npos) << err.what();
  }
  EXPECT_THROW(Trainer(other({"prompt.length=8"}), single_rank()), ptuner::Error);
  Trainer tiled(other({"prompt.length=8", "prompt.init_file_resize=\"tile\""}), single_rank());
  EXPECT_EQ(tiled.snapshot().params.at("embedding").size(0), 8);
}

// The JSON header of a safetensors file, read from its bytes.
nlohmann::json safetensors_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), sizeof n);
  std::string header(n, '\0');
  in.read(header.data(), static_cast<std::streamsize>(n));
  return nlohmann::json::parse(header);
}

TEST(PeftAdapter, ExportsPeftsKeysAndShapesAndRoundTripsBitForBit) {
  const auto ck = Checkpoint::load(source_checkpoint());
  const std::string dir = tiny_trainer_env().root + "/peft-adapter";
  write_peft_adapter(dir, export_plain(ck, source_checkpoint()), source_checkpoint());
  // adapter_model.safetensors: one F32 "prompt_embeddings" of num_virtual_tokens rows (1 submodule).
  const auto header = safetensors_header(dir + "/adapter_model.safetensors");
  EXPECT_EQ(header["__metadata__"], (nlohmann::json{{"format", "pt"}}));
  EXPECT_EQ(header["prompt_embeddings"]["dtype"], "F32");
  EXPECT_EQ(header["prompt_embeddings"]["shape"], (nlohmann::json{6, 64}));
  EXPECT_EQ(header.size(), 2u);
  // adapter_config.json: PromptTuningConfig's fields, sorted, as json.dumps(indent=2, sort_keys=True).
  std::ifstream in(dir + "/adapter_config.json");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto config = nlohmann::json::parse(text);
  EXPECT_EQ(text, config.dump(2));
  EXPECT_EQ(config["peft_type"], "PROMPT_TUNING");
  EXPECT_EQ(config["task_type"], "SEQ_2_SEQ_LM");
  EXPECT_EQ(config["num_virtual_tokens"], 6);
  EXPECT_EQ(config["token_dim"], 64);
  EXPECT_EQ(config["num_transformer_submodules"], 1);
  EXPECT_EQ(config["num_attention_heads"], 4);
  EXPECT_EQ(config["num_layers"], 2);
  EXPECT_EQ(config["inference_mode"], true);
  // Back: the same rows, bit for bit, as a checkpoint of the same frozen model.
  const auto imported = import_peft_adapter(dir, tiny_trainer_config("peft-import"));
  EXPECT_TRUE(torch::equal(imported.params.at("embedding"), ck.params.at("embedding")));
  EXPECT_EQ(imported.model_fingerprint, ck.model_fingerprint);
  EXPECT_EQ(imported.method, "shallow");
  // An adapter directory is a transfer source too.
  Trainer t(tiny_trainer_config("peft-init", {"prompt.init=\"file\"", "prompt.init_file=\"" + dir + "\""}),
            single_rank());
  EXPECT_TRUE(torch::equal(t.snapshot().params.at("embedding"), ck.params.at("embedding")));
  EXPECT_EQ(t.snapshot().init_fingerprint, "");
}

TEST(PeftAdapter, ReadsTheHandWrittenPeftFixture) {
  // tests/fixtures/peft/README.md: written as PEFT's save_pretrained writes an adapter.
  const std::string dir = std::string(PTUNER_FIXTURES) + "/peft/t5-tiny-prompt-tuning";
  const auto adapter = read_peft_prompt(dir);
  auto expected = torch::empty({3, 64});
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 64; ++j) expected[i][j] = static_cast<float>(0.01 * i + 0.001 * j);
  EXPECT_TRUE(torch::equal(adapter.rows, expected));  // the encoder's rows, not the decoder's block
  EXPECT_EQ(adapter.submodules, 2);
  EXPECT_EQ(adapter.config["base_model_name_or_path"], "ptuner/t5-tiny");
  // As a transfer source for a 3-token prompt on the tiny model.
  Trainer t(tiny_trainer_config("peft-fixture", {"prompt.length=3", "prompt.init=\"file\"",
                                                 "prompt.init_file=\"" + dir + "\""}),
            single_rank());
  EXPECT_TRUE(torch::equal(t.snapshot().params.at("embedding"), expected));
}

TEST(PeftAdapter, RefusesWhatIsNotASeq2SeqPromptTuningAdapter) {
  const std::string dir = tiny_trainer_env().root + "/peft-lora";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/adapter_config.json") << R"({"peft_type": "LORA", "task_type": "SEQ_2_SEQ_LM"})";
  try {
    read_peft_prompt(dir);
    FAIL() << "read a LoRA adapter as a prompt";
  } catch (const ptuner::Error& e) {
    EXPECT_EQ(std::string(e.what()),
              dir + "/adapter_config.json: peft_type is \"LORA\", ptuner reads PROMPT_TUNING adapters");
  }
  EXPECT_THROW(read_peft_prompt(tiny_trainer_env().root), ptuner::Error);  // no adapter_config.json
}

TEST(PromptEnsembles, MajorityVoteTakesTheMostFrequentAndTiesGoToTheEarliestPrompt) {
  EXPECT_EQ(majority_vote({"a", "b", "b"}), "b");
  EXPECT_EQ(majority_vote({"a", "b"}), "a");                 // 1–1: prompt 0's
  EXPECT_EQ(majority_vote({"b", "a", "a", "b", "c"}), "b");  // 2–2: b is prompt 0's, a prompt 1's
  EXPECT_EQ(majority_vote({"c", "a", "b", "a"}), "a");
  EXPECT_EQ(majority_vote({"x"}), "x");
  EXPECT_THROW(majority_vote({}), ptuner::Error);
}

TEST(PromptEnsembles, ATableTakesPromptsOfOneLengthAndPicksEachRowsOwn) {
  auto a = torch::ones({2, 3}), b = torch::full({2, 3}, 2.0);
  PromptTable table({a, b}, /*owner=*/true);
  mp::MicroBatch mb;
  mb.input_ids = torch::zeros({3, 5}, torch::kLong);
  mb.prompt_ids = torch::tensor({1, 0, 1}, torch::kLong);
  auto prefix = table.injection(mb).encoder_prefix;  // [3, 2, 3]
  EXPECT_TRUE(torch::equal(prefix[0], b));
  EXPECT_TRUE(torch::equal(prefix[1], a));
  mb.prompt_ids = torch::tensor({1, 2, 0}, torch::kLong);
  EXPECT_THROW(table.injection(mb), ptuner::Error);  // no prompt 2
  mb.prompt_ids = torch::Tensor();
  EXPECT_THROW(table.injection(mb), ptuner::Error);  // two prompts, no ids
  EXPECT_THROW(PromptTable({a, torch::ones({3, 3})}, true), ptuner::Error);  // another length
}

TEST(PromptEnsembles, RankClassificationTakesTheLeastSummedCrossEntropy) {
  auto c = tiny_trainer_config("rank-ensemble",
                               {"data.eval_method=\"rank\"", "prompt.class_labels=[\"positive\", \"negative\"]"});
  Trainer host(c, single_rank());
  std::vector<torch::Tensor> prompts;
  for (int k = 0; k < 3; ++k) prompts.push_back(torch::randn({6, 64}, at::detail::createCPUGenerator(40 + k)));
  auto o = EvalOptions::from(c);
  o.batch_size = 64;  // the whole dev set in one batch
  data::Tokenizer tok(c.tokenizer_path());
  PromptTable table(prompts, true);
  const auto result = evaluate_prompts(host.frozen().model, table, 3, tok, single_rank(), o);
  // By hand: each prompt's [labels, examples] cross-entropies, summed, least per example.
  auto reader = data::TaskReader::open("jsonl", o.path, data::OnError::Fail, false, false);
  std::vector<data::TokenizedExample> rows;
  data::TextToTextExample ex;
  while (reader->next(ex)) {
    data::TokenizedExample t;
    t.input_ids = tok.encode(ex.inputs);
    t.target_ids = tok.encode(ex.targets);
    t.index = static_cast<int64_t>(rows.size());
    rows.push_back(t);
  }
  const auto b = data::Collator(o.max_input_len, o.max_target_len, tok.pad_id()).collate(rows);
  std::vector<std::vector<int64_t>> candidates = {tok.encode("positive"), tok.encode("negative")};
  mp::PipelineStage stage(host.frozen().model);
  torch::Tensor sum;
  for (int k = 0; k < 3; ++k) {
    PromptTable one({prompts[static_cast<size_t>(k)]}, true);
    auto s = rank_scores(stage, one, single_rank(), b.input_ids, b.attention_mask, candidates);
    sum = k == 0 ? s : sum + s;
  }
  const auto best = sum.argmin(0);
  for (int64_t i = 0; i < best.size(0); ++i)
    EXPECT_EQ(result.ensemble.predictions[static_cast<size_t>(i)], best[i].item<int64_t>() == 0 ? "positive" : "negative")
        << "example " << i;
}

TEST(PromptEnsembles, RankVotesSumTheCrossEntropiesWhereAMajorityWouldNot) {
  // [labels 2, prompts 3, examples 2]. Example 0: prompts 0 and 2 prefer label 0 by little, prompt
  // 1 label 1 by much: the majority says 0, the summed cross-entropy (5.0 vs 3.7) says 1.
  // Example 1: every prompt ties: the first label.
  auto scores = torch::tensor({1.0, 1.0, 3.0, 1.0, 1.0, 1.0,    // label 0: [prompt][example]
                               2.0, 1.0, 0.5, 1.0, 1.2, 1.0})   // label 1
                    .view({2, 3, 2});
  const auto [each, ensemble] = rank_votes(scores);
  EXPECT_TRUE(torch::equal(each, torch::tensor({0, 0, 1, 0, 0, 0}, torch::kLong).view({3, 2})));
  EXPECT_EQ(ensemble[0].item<int64_t>(), 1);
  EXPECT_EQ(ensemble[1].item<int64_t>(), 0);
}

TEST(PromptNeighbours, AreTheVocabularyRowsOfLargestCosine) {
  // Vocabulary rows: e0 = (1, 0), e1 = (0, 1), e2 = (1, 1), e3 = (−1, 0) (a padding row, excluded).
  auto emb = torch::tensor({1.0, 0.0, 0.0, 1.0, 1.0, 1.0, -1.0, 0.0}).view({4, 2});
  auto prompt = torch::tensor({2.0, 0.1, -1.0, -1.0}).view({2, 2});
  const auto near = nearest_tokens(prompt, emb, 3, 2);
  ASSERT_EQ(near.size(), 2u);
  EXPECT_EQ(near[0][0].id, 0);
  EXPECT_EQ(near[0][1].id, 2);
  EXPECT_NEAR(near[0][0].cosine, 2.0 / std::sqrt(4.01), 1e-9);
  EXPECT_EQ(near[1][0].id, 0);  // among e0, e1, e2 (e3 = −e0 would be nearest but is padding)
  EXPECT_NEAR(near[1][0].cosine, -1.0 / std::sqrt(2.0), 1e-9);
}

}  // namespace
}  // namespace ptuner::train
