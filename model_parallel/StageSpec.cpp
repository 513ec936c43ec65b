#include "model_parallel/StageSpec.h"

#include <fmt/format.h>

namespace ptuner::mp {

std::string StageSpec::str() const {
  return fmt::format("encoder blocks [{}, {}), decoder blocks [{}, {}){}{}", encoder_begin, encoder_end,
                     decoder_begin, decoder_end, first ? ", embedding" : "", last ? ", lm head" : "");
}

StageSpec StageSpec::whole(const T5Config& c) {
  StageSpec s;
  s.encoder_end = c.num_layers;
  s.decoder_end = c.num_decoder_layers;
  return s;
}

}  // namespace ptuner::mp
