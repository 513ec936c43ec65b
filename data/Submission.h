#pragma once
// A test split's predictions as the GLUE (gluebenchmark.com) and SuperGLUE
// (super.gluebenchmark.com) leaderboards take them, one file per task, in the formats of jiant,
// the benchmarks' baseline toolkit (jiant/scripts/benchmarks/benchmarks.py and each task's
// formatter):
//
//   SuperGLUE, JSON lines {"idx": <the test file's idx>, "label": …}:
//     BoolQ.jsonl, WiC.jsonl   "true" / "false"
//     WSC.jsonl                "True" / "False" (T5's wsc_simple: does the generated text name
//                              the candidate referent)
//     CB.jsonl, RTE.jsonl, AX-b.jsonl, AX-g.jsonl   the label text ("entailment", …)
//     COPA.jsonl               0 (choice1) or 1 (choice2), a number
//     ReCoRD.jsonl             one line per query: idx the query's, label the predicted entity
//     MultiRC.jsonl            one line per passage: {"idx": p, "passage": {"questions":
//                              [{"idx": q, "answers": [{"idx": a, "label": 0 | 1}, …]}, …]}}
//   GLUE, TSV with the header "index<TAB>prediction", index the test file's "index" (QQP "id"):
//     CoLA, SST-2, MRPC, QQP, WNLI   0 / 1 (1: acceptable, positive, equivalent, duplicate,
//                                    entailment)
//     STS-B                          the score, clipped to [0, 5], 3 decimals
//     MNLI-m, MNLI-mm, AX, QNLI, RTE the label text
//
// idx values that are integers are written as numbers. A prediction that is no legal label
// (a greedy decoding can give any text) is written as the task's first label and counted, so a
// file is always complete; rank classification (data.eval_method = "rank") gives none.
#include <cstdint>
#include <string>
#include <vector>

#include "data/TextToTextExample.h"

namespace ptuner::data {

struct Submission {
  std::string file_name;     // the leaderboard's name for the file: "BoolQ.jsonl", "MNLI-mm.tsv", …
  std::string text;          // the file's contents
  int64_t records = 0;       // lines after any header (MultiRC: passages, ReCoRD: queries)
  int64_t not_a_label = 0;   // predictions that were no legal label
  std::string written_instead;  // what those were written as
};

// `examples` in file order (as a TaskReader gave them) and their predictions. The file name
// follows the task; GLUE's MNLI reader serves three files, told apart by the test file's name
// (`test_path`): "mismatched" in it gives MNLI-mm.tsv, "AX" or "diagnostic" AX.tsv, else
// MNLI-m.tsv. Throws for a task without a leaderboard (jsonl, mrqa), for sizes that differ and
// for an example without the id its file must carry.
// Whether `task` has a leaderboard file (leaderboard_submission writes it).
bool has_leaderboard_file(const std::string& task);

Submission leaderboard_submission(const std::string& task, const std::string& test_path,
                                  const std::vector<TextToTextExample>& examples,
                                  const std::vector<std::string>& predictions);

}  // namespace ptuner::data
