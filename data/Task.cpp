#include "data/Task.h"

#include "dist/Check.h"

namespace ptuner::data {

const std::vector<TaskSpec>& task_specs() {
  static const std::vector<TaskSpec> specs = {
      {"boolq", "SuperGLUE BoolQ/{train,val,test}.jsonl", {"False", "True"}, {"accuracy"}},
      {"cb",
       "SuperGLUE CB/{train,val,test}.jsonl",
       {"entailment", "contradiction", "neutral"},
       {"f1_macro", "accuracy"}},
      {"copa", "SuperGLUE COPA/{train,val,test}.jsonl", {"choice1", "choice2"}, {"accuracy"}},
      {"multirc", "SuperGLUE MultiRC/{train,val,test}.jsonl", {"False", "True"},
       {"f1", "exact_match"}},
      {"record", "SuperGLUE ReCoRD/{train,val,test}.jsonl", {}, {"f1", "exact_match"}},
      {"rte", "SuperGLUE RTE/{train,val,test}.jsonl", {"entailment", "not_entailment"},
       {"accuracy"}},
      {"wic", "SuperGLUE WiC/{train,val,test}.jsonl", {"False", "True"}, {"accuracy"}},
      {"wsc", "SuperGLUE WSC/{train,val,test}.jsonl", {}, {"accuracy"}},
      {"axb", "SuperGLUE AX-b/AX-b.jsonl", {"entailment", "not_entailment"}, {"accuracy"}},
      {"axg", "SuperGLUE AX-g/AX-g.jsonl", {"entailment", "not_entailment"}, {"accuracy"}},
      {"mrqa", "MRQA 2019 <Dataset>.jsonl.gz (header line, then one context per line)", {},
       {"f1", "exact_match"}},
      {"cola", "GLUE CoLA/{train,dev,test}.tsv", {"unacceptable", "acceptable"},
       {"matthews_corr", "accuracy"}, 1},
      {"sst2", "GLUE SST-2/{train,dev,test}.tsv", {"negative", "positive"}, {"accuracy"}},
      {"mrpc", "GLUE MRPC/{train,dev,test}.tsv", {"not_equivalent", "equivalent"},
       {"f1", "accuracy"}},
      {"qqp", "GLUE QQP/{train,dev,test}.tsv", {"not_duplicate", "duplicate"},
       {"f1", "accuracy"}},
      {"stsb", "GLUE STS-B/{train,dev,test}.tsv", {}, {"pearson", "spearman"}},
      {"mnli", "GLUE MNLI/{train,dev_matched,dev_mismatched,test_matched,...}.tsv",
       {"entailment", "neutral", "contradiction"}, {"accuracy"}},
      {"qnli", "GLUE QNLI/{train,dev,test}.tsv", {"entailment", "not_entailment"}, {"accuracy"}},
      {"glue_rte", "GLUE RTE/{train,dev,test}.tsv", {"entailment", "not_entailment"},
       {"accuracy"}},
      {"wnli", "GLUE WNLI/{train,dev,test}.tsv", {"not_entailment", "entailment"}, {"accuracy"}},
      {"jsonl", "text-to-text JSONL {\"inputs\", \"targets\", \"answers\"?, \"id\"?}", {},
       {"exact_match"}},
  };
  return specs;
}

std::string known_task_names() {
  std::string out;
  for (const auto& s : task_specs()) out += (out.empty() ? "" : ", ") + s.name;
  return out;
}

const TaskSpec& task_spec(const std::string& name) {
  for (const auto& s : task_specs())
    if (s.name == name) return s;
  PTUNER_FAIL("unknown task '{}' (known: {})", name, known_task_names());
}

double task_score(const TaskSpec& spec, const std::map<std::string, double>& metrics) {
  const size_t n = spec.scored > 0 ? spec.scored : spec.metrics.size();
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    const auto it = metrics.find(spec.metrics[i]);
    PTUNER_CHECK(it != metrics.end(), "task '{}': its metrics lack '{}'", spec.name, spec.metrics[i]);
    sum += it->second;
  }
  return sum / static_cast<double>(n);
}

}  // namespace ptuner::data
