// Logits of ptuner's T5 against HuggingFace's T5ForConditionalGeneration on the same
// checkpoint (tests/fixtures/hf_t5, made by make_reference.py), with and without a soft prompt.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "dist/MpiCommunicator.h"
#include "tests/MpiSupport.h"
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

class HfParity : public ::testing::TestWithParam<std::string> {};

TEST_P(HfParity, LogitsMatchHuggingFaceWithinOneInTenThousand) {
  const std::string dir = std::string(PTUNER_FIXTURES) + "/hf_t5/" + GetParam();
  nlohmann::json ref;
  std::ifstream(dir + "/reference.json") >> ref;
  auto config = T5Config::from_file(dir + "/config.json");
  WeightStore store(dir);
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

INSTANTIATE_TEST_SUITE_P(T5Versions, HfParity, ::testing::Values("v1_0", "v1_1"));

}  // namespace
}  // namespace ptuner::mp
