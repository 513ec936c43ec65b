#pragma once
// The task registry: every benchmark task ptuner reads, the file it expects, its legal labels
// and the metrics compute_metrics() reports for it. TaskReader (data/TaskReader.h) reads a
// task's file; compute_metrics (data/Metrics.h) scores predictions on it.
#include <map>
#include <string>
#include <vector>

namespace ptuner::data {

struct TaskSpec {
  // "boolq", "cb", "copa", "multirc", "record", "rte", "wic", "wsc", "axb", "axg", "mrqa",
  // "cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "glue_rte", "wnli", "jsonl"
  std::string name;
  std::string file;  // what the reader expects, e.g. "SuperGLUE BoolQ/{train,val,test}.jsonl"
  // Legal target strings of a classification task ({"False", "True"}); empty when the target is
  // free text (ReCoRD, WSC, MRQA, JSONL) or a number (STS-B).
  std::vector<std::string> labels;
  // Keys of compute_metrics() for this task, the headline metric first ("examples" comes too).
  std::vector<std::string> metrics;
  // The task's score in a benchmark average is the mean of metrics[0, scored) (0: of all), as the
  // GLUE and SuperGLUE leaderboards and T5 average them (CB: F1 and accuracy; MRPC, QQP: F1 and
  // accuracy; STS-B: Pearson and Spearman; CoLA: Matthews' correlation alone, its accuracy is
  // ptuner's extra).
  size_t scored = 0;
};

// That score of `metrics` (compute_metrics' result for `spec`'s task).
double task_score(const TaskSpec& spec, const std::map<std::string, double>& metrics);

// Every task, in the order above.
const std::vector<TaskSpec>& task_specs();
// "boolq, cb, copa, ..."
std::string known_task_names();
// Throws ptuner::Error "unknown task 'x' (known: boolq, cb, ...)".
const TaskSpec& task_spec(const std::string& name);

}  // namespace ptuner::data
