#include "model_parallel/WeightLoader.h"

#include <cmath>
#include <fmt/ranges.h>
#include <functional>
#include <mutex>

#include "dist/Check.h"

namespace ptuner::mp {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::vector<int64_t> full_shape(const torch::Tensor& local, int64_t dim, int tp) {
  std::vector<int64_t> shape(local.sizes().begin(), local.sizes().end());
  if (dim >= 0) shape[dim] *= tp;
  return shape;
}

// Tied checkpoints may keep the embedding under another of its names.
std::string stored_name(const WeightStore& store, const std::string& hf) {
  if (hf != "shared.weight") return hf;
  std::string emb = store.embedding_name();
  return emb.empty() ? hf : emb;
}

// HF T5PreTrainedModel._init_weights with initializer_factor = 1.
double init_std(const std::string& name, const T5Config& c) {
  const double d = static_cast<double>(c.d_model);
  if (ends_with(name, "layer_norm.weight")) return 0.0;  // ones
  if (name == "shared.weight" || name == "lm_head.weight") return 1.0;
  if (ends_with(name, ".wi.weight") || ends_with(name, ".wi_0.weight") || ends_with(name, ".wi_1.weight"))
    return std::pow(d, -0.5);
  if (ends_with(name, ".wo.weight")) return std::pow(static_cast<double>(c.d_ff), -0.5);
  if (ends_with(name, ".q.weight")) return std::pow(d * static_cast<double>(c.d_kv), -0.5);
  if (ends_with(name, ".k.weight") || ends_with(name, ".v.weight")) return std::pow(d, -0.5);
  if (ends_with(name, ".o.weight")) return std::pow(static_cast<double>(c.num_heads * c.d_kv), -0.5);
  if (contains(name, "relative_attention_bias")) return std::pow(d, -0.5);
  PTUNER_FAIL("init_weights: no initialisation rule for parameter '{}'", name);
}

}  // namespace

std::string hf_name(const std::string& local) {
  for (const char* stack : {"encoder", "decoder"}) {
    const std::string prefix = std::string(stack) + ".relative_attention_bias.";
    if (local.rfind(prefix, 0) == 0)
      return std::string(stack) + ".block.0.layer.0.SelfAttention.relative_attention_bias." +
             local.substr(prefix.size());
  }
  return local;
}

int64_t tp_split_dim(const std::string& n) {
  if (n == "shared.weight" || n == "lm_head.weight") return 0;
  if (ends_with(n, ".q.weight") || ends_with(n, ".k.weight") || ends_with(n, ".v.weight") ||
      ends_with(n, ".wi.weight") || ends_with(n, ".wi_0.weight") || ends_with(n, ".wi_1.weight"))
    return 0;
  if (ends_with(n, ".o.weight") || ends_with(n, ".wo.weight") || contains(n, "relative_attention_bias")) return 1;
  return -1;
}

void load_weights(T5Model& model, const WeightStore& store, dist::Communicator& tp) {
  torch::NoGradGuard no_grad;
  for (auto& item : model->named_parameters()) {
    const std::string& local = item.key();
    auto& param = item.value();
    const std::string name = stored_name(store, hf_name(local));
    PTUNER_CHECK(store.contains(name), "checkpoint {} has no tensor '{}' (needed for parameter '{}')", store.dir(),
                 name, local);
    const int64_t dim = tp_split_dim(local);
    const auto expected = full_shape(param, dim, tp.size());
    const auto& info = store.info(name);
    PTUNER_CHECK(info.shape == expected,
                 "checkpoint {}: tensor '{}' has shape {} but this model (config.json) expects {}: "
                 "is the checkpoint from another model?",
                 store.dir(), name, fmt::join(info.shape, "x"), fmt::join(expected, "x"));
    torch::Tensor value;
    if (dim < 0 || tp.size() == 1) {
      value = store.load(name, param.scalar_type());
    } else {
      const int64_t n = param.size(dim);
      value = store.load_slice(name, dim, tp.rank() * n, n, param.scalar_type());
    }
    param.copy_(value);
  }
}

void init_weights(T5Model& model, uint64_t seed, dist::Communicator& tp) {
  torch::NoGradGuard no_grad;
  const auto& c = model->config();
  for (auto& item : model->named_parameters()) {
    const std::string name = hf_name(item.key());
    auto& param = item.value();
    const double std = init_std(name, c);
    if (std == 0.0) {
      param.fill_(1.0);
      continue;
    }
    const int64_t dim = tp_split_dim(item.key());
    const uint64_t tensor_seed = seed * 0x9E3779B97F4A7C15ULL ^ std::hash<std::string>{}(name);
    // Drawn where the parameter lives: a CPU generator per tensor, or the device's generator
    // seeded per tensor (an 11B model in seconds, not minutes; other values than the CPU's).
    at::Generator gen;
    if (param.device().is_cpu()) {
      gen = at::detail::createCPUGenerator(tensor_seed);
    } else {
      gen = at::globalContext().defaultGenerator(param.device());
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(tensor_seed);
    }
    auto full = torch::empty(full_shape(param, dim, tp.size()), param.options().dtype(torch::kFloat32));
    full.normal_(0.0, std, gen);
    if (dim >= 0 && tp.size() > 1) full = full.chunk(tp.size(), dim)[tp.rank()];
    param.copy_(full);
  }
}

std::vector<std::pair<std::string, torch::Tensor>> hf_state_dict(T5Model& model) {
  const auto& s = model->stage();
  PTUNER_CHECK(s.first && s.last, "hf_state_dict needs the whole model on one stage, this one holds {}", s.str());
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (auto& item : model->named_parameters())
    out.emplace_back(hf_name(item.key()), item.value().detach().contiguous());
  return out;
}

}  // namespace ptuner::mp
