// Spamhaus DROP lists (DROP, EDROP, DROPv6): the text form and the JSON-lines form.
//
// Text:  "; Spamhaus DROP List 2024/01/01 - (c) ..." header/comment lines, then
//        "1.10.16.0/20 ; SBL256894" (an IPv4 or IPv6 CIDR, then the SBL id after ';').
// JSON:  {"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"} per line, plus a metadata
//        line without "cidr" ({"type":"metadata","timestamp":...,"size":...,"records":...}).
#include <nlohmann/json.hpp>

#include "parse_util.h"

namespace sluice::reputation::detail {

void parse_drop(Sink &sink, std::string_view text) {
  const int32_t w = sink.config().weight;
  for_each_line(text, [&](uint32_t n, std::string_view raw) {
    if (!sink.line(n, raw)) return;
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == ';' || line[0] == '#') return;
    std::string_view cidr = trim(line.substr(0, line.find(';')));
    if (cidr.empty()) return sink.bad("missing CIDR");
    if (auto err = add_cidr(sink, cidr, w, 0, false); !err.empty()) return sink.bad(err);
    sink.entry();
  });
}

void parse_drop_json(Sink &sink, std::string_view text) {
  const int32_t w = sink.config().weight;
  for_each_line(text, [&](uint32_t n, std::string_view raw) {
    if (!sink.line(n, raw)) return;
    std::string_view line = trim(raw);
    if (line.empty()) return;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return sink.bad("not a JSON value");
    if (!j.is_object()) return sink.bad("not a JSON object");
    auto it = j.find("cidr");
    if (it == j.end()) return;  // the metadata line (or another record without a CIDR)
    if (!it->is_string()) return sink.bad("\"cidr\" is not a string");
    const std::string &cidr = it->get_ref<const std::string &>();
    if (auto err = add_cidr(sink, trim(cidr), w, 0, false); !err.empty()) return sink.bad(err);
    sink.entry();
  });
}

}  // namespace sluice::reputation::detail
