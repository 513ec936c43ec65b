// ptuner tokenize: ids (with the appended EOS) and pieces, as T5's tokenizer gives them.
#include <nlohmann/json.hpp>

#include <iostream>

#include "data/Tokenizer.h"
#include "dist/JsonText.h"
#include "launch/Commands.h"

namespace ptuner::launch {

namespace {
struct TokenizeArgs {
  std::string tokenizer;
  bool json = false;
  std::vector<std::string> texts;
};
}  // namespace

Command add_tokenize(CLI::App& app) {
  auto a = std::make_shared<TokenizeArgs>();
  app.add_option("--tokenizer", a->tokenizer, "sentencepiece model (spiece.model)")->required();
  app.add_flag("--json", a->json, "one JSON object per text: {text, ids, pieces}");
  app.add_option("texts", a->texts, "texts to tokenize; <extra_id_N> maps to its sentinel")->required();
  return [a]() {
    data::Tokenizer tok(a->tokenizer);
    for (const auto& text : a->texts) {
      auto ids = tok.encode(text);
      auto pieces = tok.pieces(ids);
      if (a->json) {
        std::cout << ptuner::json_text(nlohmann::json{{"text", text}, {"ids", ids}, {"pieces", pieces}}) << '\n';
      } else {
        std::cout << text << '\n' << "  ids:   ";
        for (auto id : ids) std::cout << id << ' ';
        std::cout << '\n' << "  pieces:";
        for (const auto& p : pieces) std::cout << ' ' << p;
        std::cout << '\n';
      }
    }
    return 0;
  };
}

}  // namespace ptuner::launch
