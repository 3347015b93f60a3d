#include "complaints_config.h"

#include "input_text.h"

namespace sluice::sluiced::arf {
void describe_complaints_config(ConfigSchema &schema) {
  po::options_description c("[complaints]");
  c.add_options()                                                                       //
      ("complaints.enabled", po::value<std::string>(), "take ARF reports")              //
      ("complaints.maildir", po::value<std::string>(), "maildir of ARF reports")        //
      ("complaints.max_report_bytes", po::value<std::string>(), "largest report mail")  //
      ("complaints.dedup_memory", po::value<std::string>(), "report keys remembered");
  schema.add_section(c);
}

ComplaintsConfig read_complaints_config(const po::variables_map &vm) {
  ComplaintsConfig c;
  c.enabled = config_bool(vm, "complaints.enabled", true);
  if (const std::string *m = config_value(vm, "complaints.maildir")) {
    if (m->empty() || m->front() != '/')
      throw ConfigError("complaints.maildir: " + shown(*m) + " is not an absolute path");
    c.maildir = *m;
    while (c.maildir.size() > 1 && c.maildir.back() == '/') c.maildir.pop_back();
  }
  c.max_report_bytes = static_cast<size_t>(config_whole_number(
      vm, "complaints.max_report_bytes", c.max_report_bytes, 1024, kMaxReportBytesCeiling));
  c.dedup_memory = static_cast<size_t>(
      config_whole_number(vm, "complaints.dedup_memory", c.dedup_memory, 0, kMaxDedupMemory));
  return c;
}

}  // namespace sluice::sluiced::arf
