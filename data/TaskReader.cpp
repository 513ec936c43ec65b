#include "data/TaskReader.h"

#include <fmt/ranges.h>

#include "data/GlueJsonFormat.h"
#include "data/GlueTsvFormat.h"
#include "data/MalformedRecord.h"
#include "data/MrqaFormat.h"
#include "data/MultiRcFormat.h"
#include "data/ReCoRDFormat.h"
#include "data/LineReader.h"
#include "data/TextToTextFormat.h"
#include "data/WscFormat.h"
#include "dist/Check.h"

namespace ptuner::data {

namespace {


std::unique_ptr<TaskFormat> make_format(const std::string& task, bool task_prefix,
                                        bool is_training) {
  if (task == "jsonl") return std::make_unique<TextToTextFormat>();
  if (task == "boolq" || task == "cb" || task == "copa" || task == "rte" || task == "wic" ||
      task == "axb" || task == "axg")
    return std::make_unique<GlueJsonFormat>(task, task_prefix, is_training);
  if (task == "multirc") return std::make_unique<MultiRcFormat>(task_prefix, is_training);
  if (task == "record") return std::make_unique<ReCoRDFormat>(task_prefix, is_training);
  if (task == "wsc") return std::make_unique<WscFormat>(task_prefix, is_training);
  if (task == "mrqa") return std::make_unique<MrqaFormat>(is_training);
  if (GlueTsvFormat::reads(task))
    return std::make_unique<GlueTsvFormat>(task, task_prefix, is_training);
  PTUNER_FAIL("TaskReader: task '{}' has no reader yet", task);
}

}  // namespace

std::unique_ptr<TaskReader> TaskReader::open(const std::string& task, const std::string& path,
                                             OnError policy, bool task_prefix, bool is_training) {
  return std::make_unique<TaskReader>(task_spec(task), path, policy, task_prefix, is_training);
}

TaskReader::TaskReader(const TaskSpec& spec, const std::string& path, OnError policy,
                       bool task_prefix, bool is_training)
    : spec_(spec),
      lines_(path),
      malformed_("TaskReader (" + spec.name + ")", path, policy),
      format_(make_format(spec.name, task_prefix, is_training)) {
  const auto ends_with = [&](const std::string& suffix) {
    return path.size() >= suffix.size() && path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  PTUNER_CHECK(GlueTsvFormat::reads(spec.name) || !(ends_with(".tsv") || ends_with(".tsv.gz")),
               "TaskReader ({}): '{}' looks like a GLUE TSV file, but task '{}' reads {} (the GLUE "
               "TSV tasks are {}; GLUE's RTE is glue_rte)",
               spec.name, path, spec.name, spec.file, fmt::join(GlueTsvFormat::tasks(), ", "));
}

bool TaskReader::next(TextToTextExample& out) {
  std::string text;
  std::vector<TextToTextExample> got;
  while (pending_.empty()) {
    if (!lines_.next(text)) {
      if (examples_ == 0) {
        const std::string skip_note =
            skipped() > 0 ? fmt::format(" ({} malformed records skipped)", skipped()) : "";
        const std::string test_note =
            unlabeled_ > 0 && unlabeled_ == skipped()
                ? ": no record has a label, which looks like a test split (evaluation reads such rows)"
                : "";
        PTUNER_FAIL("TaskReader ({}): data file '{}' holds no examples{}{}{}", spec_.name, path(),
                    skip_note, records_ > 0 ? fmt::format(" in its {} records", records_) : "",
                    test_note);
      }
      return false;
    }
    if (is_blank_line(text)) continue;
    const bool first = !seen_first_;
    seen_first_ = true;
    got.clear();
    try {
      if (format_->parse(text, first, got)) ++records_;
    } catch (const MalformedRecord& e) {
      if (dynamic_cast<const UnlabeledRecord*>(&e) != nullptr) ++unlabeled_;
      malformed_.reject(lines_.line_number(), e.what());
      continue;
    } catch (const ptuner::Error& e) {  // the whole file is unusable: name it
      PTUNER_FAIL("TaskReader ({}): {}:{}: {}", spec_.name, path(), lines_.line_number(),
                  e.what());
    }
    for (auto& ex : got) pending_.push_back(std::move(ex));
    pending_line_ = lines_.line_number();
  }
  out = std::move(pending_.front());
  pending_.pop_front();
  record_line_ = pending_line_;
  ++examples_;
  return true;
}

void TaskReader::rewind() {
  lines_.rewind();
  malformed_.restart();
  pending_.clear();
  seen_first_ = false;
  record_line_ = pending_line_ = records_ = examples_ = unlabeled_ = 0;
}

}  // namespace ptuner::data
