#pragma once
// A prompt-only checkpoint: one HDF5 file holding the trained parameters, the optimizer state,
// the step, the data position, the RNG state, the run config and the frozen model's fingerprint.
// No frozen weight is ever written. A checkpoint whose prompt holds a non-finite value is neither
// written nor loaded.
//
// The seal (format 2): the file's first 512 bytes are an HDF5 user block holding the text
// "ptuner-checkpoint 2\nbytes N\ncrc32 XXXXXXXX\n" (NUL-padded), N and the CRC-32 covering every
// byte after it. Loading checks the seal before HDF5 reads anything: HDF5 1.10 trusts its own
// metadata, and a damaged file (cut short, a flipped byte in a heap or header) can crash it. A
// file that fails the seal is refused as damaged, naming what differs. Arrays also carry HDF5's
// Fletcher-32 checksum. Format 1 files (no seal, starting with HDF5's signature) are refused.
// Layout in the file:
//   /prompt/<param>          trainable tensors (fp32)
//   /optimizer/<slot>        optimizer state; /optimizer/slots lists the slot names
//   /meta/{format,step,method,optimizer,fingerprint,config,best_metric,best_step}
//   /meta/prompt             the method's hyper-parameters (JSON; absent in older files)
//   /meta/init_file, init_digest, init_fingerprint   a transferred prompt's source (prompt.init =
//                            "file"): its path, its rows' digest and its frozen model's fingerprint
//   /data/{epoch,batches_in_epoch}
//   /data/{mixture_draws,source_epochs,source_taken}   a mixture's position only: int64 [sources]
//   /rng/torch_cpu           uint8 [world, n]: row r is world rank r's CPU generator state
//   /rng/torch_device        uint8 [world, n]: the ranks' accelerator generators (GPU runs only)
//   /rng/layout              the layout the rows belong to ("tp=2 pp=2 dp=1")
#include <torch/torch.h>

#include <limits>
#include <map>
#include <string>

#include "data/LoaderPosition.h"

namespace ptuner::train {

struct Checkpoint {
  int64_t step = 0;
  std::string method;
  std::string prompt_config;  // the method's hyper-parameters, JSON ("" when not recorded)
  std::string init_file, init_digest, init_fingerprint;  // the transfer source ("" for none)
  std::map<std::string, torch::Tensor> params;
  std::string optimizer_name;
  std::map<std::string, torch::Tensor> optimizer;
  data::LoaderPosition data_position;
  torch::Tensor rng_cpu;     // uint8 [world, n], one row per world rank
  torch::Tensor rng_device;  // uint8 [world, n] or undefined
  std::string rng_layout;    // the layout of those rows
  std::string config_toml;
  std::string model_fingerprint;
  double best_metric = -std::numeric_limits<double>::infinity();
  int64_t best_step = -1;

  // Built in memory (HDF5 never writes to the disk itself: see H5File::Mode::Memory), written
  // to path + ".tmp", synced, renamed over path, and the directory synced; on any error
  // the .tmp is removed and the file at path is left as it was. A non-finite prompt is refused.
  void save(const std::string& path) const;
  static Checkpoint load(const std::string& path);
  // Refuses a prompt trained on another frozen model, naming both fingerprints.
  void check_model(const std::string& fingerprint, const std::string& path) const;

 private:
  void write_file(const std::string& path) const;
};

}  // namespace ptuner::train
