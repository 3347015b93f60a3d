#include "complaints_config.h"

#include <charconv>

#include "input_text.h"

namespace sluice::sluiced::arf {
namespace {

size_t read_size(const po::variables_map &vm, const std::string &key, size_t dflt, size_t min,
                 size_t max) {
  const std::string *v = config_value(vm, key);
  if (v == nullptr) return dflt;
  uint64_t n = 0;
  const auto r = std::from_chars(v->data(), v->data() + v->size(), n);
  if (v->empty() || r.ec != std::errc() || r.ptr != v->data() + v->size() || n < min || n > max)
    throw ConfigError(key + ": " + shown(*v) + " is not a whole number " + std::to_string(min) +
                      ".." + std::to_string(max));
  return static_cast<size_t>(n);
}

}  // namespace

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
  c.max_report_bytes = read_size(vm, "complaints.max_report_bytes", c.max_report_bytes, 1024,
                                 kMaxReportBytesCeiling);
  c.dedup_memory = read_size(vm, "complaints.dedup_memory", c.dedup_memory, 0, kMaxDedupMemory);
  return c;
}

}  // namespace sluice::sluiced::arf
