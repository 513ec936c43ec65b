// Logits of ptuner's T5 against HuggingFace's T5ForConditionalGeneration on the same
// checkpoint (tests/fixtures/hf_t5, made by make_reference.py), with and without a soft prompt;
// and on the same checkpoints as transformers 5 saves them again (hf_t5/transformers5: its
// config.json says tie_word_embeddings true and scale_decoder_outputs false for v1.1).
// PTUNER_HF_T5_FIXTURES names another folder of checkpoints v1_0/ and v1_1/ to read (the
// references stay the fixtures'): tests/hf-transformers gives those the installed transformers
// saved.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "dist/MpiCommunicator.h"
#include "tests/MpiSupport.h"
#include "model_parallel/ModelFingerprint.h"
#include "model_parallel/WeightLoader.h"
#include "tests/StageSupport.h"

namespace ptuner::mp {
namespace {

torch::Tensor to_tensor(const nlohmann::json& j, torch::ScalarType dtype) {
  std::vector<int64_t> shape;
  const nlohmann::json* cur = &j;
  while (cur->is_array()) {
    shape.push_back(static_cast<int64_t>(cur->size()));
    cur = &(*cur)[0];
  }
  std::vector<double> flat;
  std::function<void(const nlohmann::json&)> walk = [&](const nlohmann::json& x) {
    if (x.is_array())
      for (const auto& e : x) walk(e);
    else
      flat.push_back(x.get<double>());
  };
  walk(j);
  return torch::tensor(flat, torch::kFloat64).reshape(shape).to(dtype);
}

double relative_error(const torch::Tensor& got, const torch::Tensor& ref) {
  return ((got.to(torch::kFloat64) - ref).abs().max() / ref.abs().max()).item<double>();
}

struct Checkpoint {
  std::string dir;        // under hf_t5/ (or PTUNER_HF_T5_FIXTURES)
  std::string reference;  // the fixture whose reference.json holds its logits (same weights)
};

class HfParity : public ::testing::TestWithParam<Checkpoint> {};

TEST_P(HfParity, LogitsMatchHuggingFaceWithinOneInTenThousand) {
  const std::string fixtures = std::string(PTUNER_FIXTURES) + "/hf_t5/";
  const char* other = std::getenv("PTUNER_HF_T5_FIXTURES");
  const std::string dir = (other ? std::string(other) + "/" : fixtures) + GetParam().dir;
  nlohmann::json ref;
  std::ifstream(fixtures + GetParam().reference + "/reference.json") >> ref;
  ASSERT_FALSE(ref.is_null()) << fixtures << GetParam().reference << "/reference.json";
  auto config = T5Config::from_model_dir(dir);
  // Whichever transformers saved it, the model reads to one config and fingerprint.
  const std::string first = fixtures + GetParam().reference;
  EXPECT_EQ(config.to_json(), T5Config::from_model_dir(first).to_json());
  WeightStore store(dir);
  EXPECT_EQ(model_fingerprint(config, store), model_fingerprint(T5Config::from_model_dir(first), WeightStore(first)));
  auto self = ptuner::testing::self();
  dist::ParallelState ps(dist::Layout{}, self);
  T5Model model(config, ps, StageSpec::whole(config));
  load_weights(model, store, ps.tp());
  model->eval();

  auto ids = to_tensor(ref["input_ids"], torch::kLong);
  auto mask = to_tensor(ref["attention_mask"], torch::kLong);
  auto dec = to_tensor(ref["decoder_input_ids"], torch::kLong);
  std::vector<int64_t> shape = ref["logits_shape"].get<std::vector<int64_t>>();

  torch::NoGradGuard no_grad;
  // The path training runs: the stage at pp = 1, from labels whose shift is HF's decoder input.
  PipelineStage stage(model);
  const auto labels = ptuner::testing::labels_shifting_to(dec);
  ASSERT_TRUE(torch::equal(shift_right(labels, config.decoder_start_token_id, config.pad_token_id), dec));
  auto logits = [&](const PromptInjection& p) {
    return stage.logits(ptuner::testing::decoder_output(stage, ids, mask, labels, p));
  };
  auto plain = logits(PromptInjection{});
  auto plain_ref = to_tensor(ref["plain_logits"], torch::kFloat64).reshape(shape);
  ASSERT_EQ(plain.sizes(), plain_ref.sizes());
  EXPECT_LT(relative_error(plain, plain_ref), 1e-4) << "backend " << ref["backend"];
  EXPECT_TRUE(torch::allclose(plain.to(torch::kFloat64), plain_ref, 1e-4, 1e-4 * plain_ref.abs().max().item<double>()));

  PromptInjection prompt;
  prompt.encoder_prefix = to_tensor(ref["prompt"], torch::kFloat32);
  auto prompted = logits(prompt);
  auto prompted_ref = to_tensor(ref["prompt_logits"], torch::kFloat64).reshape(shape);
  EXPECT_LT(relative_error(prompted, prompted_ref), 1e-4);
  // The prompt changes the output: the comparison above is not vacuous.
  EXPECT_GT(relative_error(plain, prompted_ref), 1e-2);
}

INSTANTIATE_TEST_SUITE_P(T5Versions, HfParity,
                         ::testing::Values(Checkpoint{"v1_0", "v1_0"}, Checkpoint{"v1_1", "v1_1"},
                                           Checkpoint{"transformers5/v1_0", "v1_0"},
                                           Checkpoint{"transformers5/v1_1", "v1_1"}),
                         [](const ::testing::TestParamInfo<Checkpoint>& info) {
                           std::string name = info.param.dir;
                           for (auto& ch : name)
                             if (ch == '/') ch = '_';
                           return name;
                         });

}  // namespace
}  // namespace ptuner::mp
