#pragma once
// Which contiguous blocks of the 2·L (encoder then decoder) a pipeline stage holds, and
// whether it holds the embedding (first stage) and the LM head (last stage).
#include <cstdint>
#include <string>

#include "model_parallel/T5Config.h"

namespace ptuner::mp {

struct StageSpec {
  int64_t encoder_begin = 0, encoder_end = 0;  // encoder blocks [begin, end)
  int64_t decoder_begin = 0, decoder_end = 0;  // decoder blocks [begin, end)
  bool first = true;                          // holds the input embedding and the prompt
  bool last = true;                           // holds the final norms' ends, the LM head and the loss

  bool has_encoder() const { return encoder_end > encoder_begin; }
  bool has_decoder() const { return decoder_end > decoder_begin; }
  std::string str() const;
  // Global index (encoder blocks 0..L−1, then decoder blocks L..) of this stage's first block, and
  // one past its last; num_layers = L, the encoder's blocks.
  int64_t first_block(int64_t num_layers) const { return has_encoder() ? encoder_begin : num_layers + decoder_begin; }
  int64_t end_block(int64_t num_layers) const { return has_decoder() ? num_layers + decoder_end : encoder_end; }

  // The whole model on one stage.
  static StageSpec whole(const T5Config& config);
};

}  // namespace ptuner::mp
