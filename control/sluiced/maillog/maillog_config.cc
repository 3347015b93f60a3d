#include "maillog_config.h"

#include "input_text.h"

namespace sluice::sluiced::maillog {
bool log_kind(LocalKind k) {
  return k == LocalKind::kUnknownRecipient || k == LocalKind::kRblReject ||
         k == LocalKind::kPregreet || k == LocalKind::kProtocolError;
}

void describe_maillog_config(ConfigSchema &schema) {
  po::options_description m("[maillog]");
  m.add_options()                                                                       //
      ("maillog.enabled", po::value<std::string>(), "follow a Postfix log")             //
      ("maillog.path", po::value<std::string>(), "the log file to follow")              //
      ("maillog.from_start", po::value<std::string>(), "read the file from its start")  //
      ("maillog.max_line", po::value<std::string>(), "longest line read, in bytes")     //
      ("maillog.kinds", po::value<std::string>(), "observation kinds published")        //
      ("maillog.recent", po::value<std::string>(), "matches kept for maillog recent");
  schema.add_section(m);
}

MaillogConfig read_maillog_config(const po::variables_map &vm) {
  MaillogConfig c;
  c.enabled = config_bool(vm, "maillog.enabled", false);
  if (const std::string *p = config_value(vm, "maillog.path")) {
    if (p->empty() || (*p)[0] != '/' || p->back() == '/' || p->find('\0') != std::string::npos)
      throw ConfigError("maillog.path: " + shown(*p) + " is not an absolute path to a file");
    c.path = *p;
  }
  if (c.enabled && c.path.empty())
    throw ConfigError("maillog.path: required when maillog.enabled = true");
  c.from_start = config_bool(vm, "maillog.from_start", false);
  c.max_line = static_cast<size_t>(config_whole_number(vm, "maillog.max_line", 8192, 256, 1 << 20));
  c.recent =
      static_cast<size_t>(config_whole_number(vm, "maillog.recent", 64, 0, kMaxRecentMatches));
  for (size_t k = 0; k < kLocalKindCount; ++k) c.publish[k] = log_kind(static_cast<LocalKind>(k));
  if (const std::string *kinds = config_value(vm, "maillog.kinds")) {
    c.publish.fill(false);
    std::string_view s = *kinds;
    bool any = false;
    while (!s.empty()) {
      const size_t cut = s.find_first_of(", ");
      const std::string_view word = s.substr(0, cut);
      s.remove_prefix(cut == std::string_view::npos ? s.size() : cut + 1);
      if (word.empty()) continue;
      const auto k = local_kind_from_string(word);
      if (!k || !log_kind(*k))
        throw ConfigError("maillog.kinds: " + shown(word) +
                          " is not one of unknown_recipient, rbl_reject, pregreet, "
                          "protocol_error");
      c.publish[static_cast<size_t>(*k)] = true;
      any = true;
    }
    if (!any) throw ConfigError("maillog.kinds: empty (leave it out to publish every kind)");
  }
  return c;
}

}  // namespace sluice::sluiced::maillog
