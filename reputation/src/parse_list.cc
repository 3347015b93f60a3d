// A plain list: one entry per line, "ENTRY[,WEIGHT[,COMMENT]]".
//   ENTRY   an address, a prefix ADDR/LEN or a range LO-HI (IPv4 or IPv6); "!" before it
//           excludes it from this source
//   WEIGHT  a signed integer replacing the source's weight for this entry; empty = the source's
//   COMMENT anything (ignored)
// Blank lines and lines starting with "#" or ";" are comments.
#include "parse_util.h"

namespace sluice::reputation::detail {

void parse_list(Sink &sink, std::string_view text) {
  const int32_t source_weight = sink.config().weight;
  for_each_line(text, [&](uint32_t n, std::string_view raw) {
    if (!sink.line(n, raw)) return;
    std::string_view line = trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') return;
    bool excl = false;
    if (line[0] == '!') {
      excl = true;
      line = trim(line.substr(1));
    }
    size_t c1 = line.find(',');
    std::string_view entry = trim(line.substr(0, c1));
    int32_t w = source_weight;
    if (c1 != std::string_view::npos) {
      std::string_view rest = line.substr(c1 + 1);
      std::string_view weight = trim(rest.substr(0, rest.find(',')));
      if (!weight.empty() && !parse_int32(weight, w))
        return sink.bad(fmt::format("bad weight {}", shown(weight)));
    }
    if (entry.empty()) return sink.bad("missing address");
    std::string err = entry.find('-') != std::string_view::npos
                          ? add_full_range(sink, entry, w, 0, excl)
                          : add_cidr(sink, entry, w, 0, excl);
    if (!err.empty()) return sink.bad(err);
    sink.entry();
  });
}

}  // namespace sluice::reputation::detail
