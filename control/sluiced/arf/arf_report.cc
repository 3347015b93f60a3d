#include "arf_report.h"

#include <sodium.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "input_text.h"

namespace sluice::sluiced::arf {
namespace {

namespace rep = sluice::reputation;
using Lines = std::vector<std::string_view>;

struct Failure {
  ArfRefusal refusal = ArfRefusal::kNone;
  std::string detail;
};

struct Field {
  std::string name;   // lower case
  std::string value;  // unfolded, trimmed
  size_t line = 0;    // 1-based, of its first line
};

struct ContentType {
  std::string type, subtype;                                // lower case; empty: none given
  std::vector<std::pair<std::string, std::string>> params;  // names lower case
  const std::string *param(std::string_view name) const {
    for (const auto &[k, v] : params)
      if (k == name) return &v;
    return nullptr;
  }
  std::string text() const { return type.empty() ? "none" : type + "/" + subtype; }
};

struct Entity {
  std::vector<Field> fields;
  size_t body_begin = 0, body_end = 0;  // lines
  ContentType ct;
  const Field *field(std::string_view name) const {
    for (const auto &f : fields)
      if (f.name == name) return &f;
    return nullptr;
  }
  size_t count(std::string_view name) const {
    return static_cast<size_t>(std::count_if(fields.begin(), fields.end(),
                                             [&](const Field &f) { return f.name == name; }));
  }
};

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_wsp(s.front()) || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (is_wsp(s.back()) || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

// Lines without their CR LF or LF (one CR before the LF is dropped).
Lines split_lines(std::string_view text) {
  Lines out;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    const size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.push_back(line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string where(const char *what, size_t line) {
  return std::string(what) + " line " + std::to_string(line);
}

// The header block of lines [b, e): fields until the first empty line (the body starts after
// it; no empty line: no body). `what` and `first_line` name lines in messages.
bool read_header(const Lines &lines, size_t b, size_t e, const ArfLimits &lim, const char *what,
                 std::vector<Field> &out, size_t &body, Failure &f) {
  size_t i = b;
  for (; i < e; ++i) {
    const std::string_view l = lines[i];
    if (l.size() > lim.max_line) {
      f = {ArfRefusal::kLineTooLong, where(what, i + 1) + ": a header line of " +
                                         std::to_string(l.size()) + " bytes, over " +
                                         std::to_string(lim.max_line)};
      return false;
    }
    if (l.empty()) {
      body = i + 1;
      return true;
    }
    if (is_wsp(l.front())) {
      if (out.empty()) {
        f = {ArfRefusal::kBadHeader, where(what, i + 1) + ": a continuation line with no field"};
        return false;
      }
      Field &last = out.back();
      if (last.value.size() + l.size() > lim.max_line * 8) {
        f = {ArfRefusal::kLineTooLong, where(what, i + 1) + ": a folded field over " +
                                           std::to_string(lim.max_line * 8) + " bytes"};
        return false;
      }
      last.value += l;
      continue;
    }
    const size_t colon = l.find(':');
    bool name_ok = colon != std::string_view::npos && colon > 0;
    for (size_t k = 0; name_ok && k < colon; ++k) {
      const auto c = static_cast<unsigned char>(l[k]);
      name_ok = c > 0x20 && c < 0x7f;
    }
    if (!name_ok) {
      f = {ArfRefusal::kBadHeader,
           where(what, i + 1) + ": " + shown(l) + " is not a header field (Name: value)"};
      return false;
    }
    if (out.size() >= lim.max_fields) {
      f = {ArfRefusal::kBadHeader,
           where(what, i + 1) + ": over " + std::to_string(lim.max_fields) + " fields in a block"};
      return false;
    }
    out.push_back({lower(l.substr(0, colon)), std::string(l.substr(colon + 1)), i + 1});
  }
  body = e;
  return true;
}

// ---- Content-Type (RFC 2045 section 5.1) ----------------------------------------------------

bool is_tspecial(char c) {
  return std::string_view("()<>@,;:\\\"/[]?=").find(c) != std::string_view::npos;
}

void skip_cfws(std::string_view s, size_t &i) {
  for (;;) {
    while (i < s.size() && (is_wsp(s[i]) || s[i] == '\r' || s[i] == '\n')) ++i;
    if (i >= s.size() || s[i] != '(') return;
    int depth = 0;
    for (; i < s.size(); ++i) {
      if (s[i] == '\\') {
        if (i + 1 == s.size()) break;  // a quoted-pair cut by the value's end
        ++i;
        continue;
      }
      if (s[i] == '(') ++depth;
      if (s[i] == ')' && --depth == 0) {
        ++i;
        break;
      }
    }
  }
}

std::string_view token(std::string_view s, size_t &i) {
  const size_t start = i;
  while (i < s.size() && static_cast<unsigned char>(s[i]) > 0x20 &&
         static_cast<unsigned char>(s[i]) < 0x7f && !is_tspecial(s[i]))
    ++i;
  return s.substr(start, i - start);
}

std::optional<ContentType> parse_content_type(std::string_view s) {
  ContentType ct;
  size_t i = 0;
  skip_cfws(s, i);
  const std::string_view type = token(s, i);
  skip_cfws(s, i);
  if (type.empty() || i >= s.size() || s[i] != '/') return std::nullopt;
  ++i;
  skip_cfws(s, i);
  const std::string_view sub = token(s, i);
  if (sub.empty()) return std::nullopt;
  ct.type = lower(type);
  ct.subtype = lower(sub);
  for (;;) {
    skip_cfws(s, i);
    if (i >= s.size()) return ct;
    if (s[i] != ';') return std::nullopt;
    ++i;
    skip_cfws(s, i);
    if (i >= s.size()) return ct;  // a trailing ';' is common and harmless
    const std::string_view name = token(s, i);
    skip_cfws(s, i);
    if (name.empty() || i >= s.size() || s[i] != '=') return std::nullopt;
    ++i;
    skip_cfws(s, i);
    std::string value;
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      for (; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          value += s[++i];
          continue;
        }
        if (s[i] == '"') {
          closed = true;
          ++i;
          break;
        }
        value += s[i];
      }
      if (!closed) return std::nullopt;
    } else {
      value = token(s, i);
      if (value.empty()) return std::nullopt;
    }
    ct.params.emplace_back(lower(name), std::move(value));
  }
}

// ---- the reader ---------------------------------------------------------------------------

class Reader {
 public:
  Reader(const Lines &lines, const ArfLimits &lim) : lines_(lines), lim_(lim) {}

  bool entity(size_t b, size_t e, Entity &out, Failure &f) {
    if (!read_header(lines_, b, e, lim_, "mail", out.fields, out.body_begin, f)) return false;
    out.body_end = e;
    const size_t n = out.count("content-type");
    if (n > 1) {
      f = {ArfRefusal::kBadMime,
           where("mail", out.field("content-type")->line) + ": several Content-Type fields"};
      return false;
    }
    if (n == 1) {
      const Field *c = out.field("content-type");
      auto ct = parse_content_type(c->value);
      if (!ct) {
        f = {ArfRefusal::kBadMime, where("mail", c->line) + ": Content-Type " +
                                       shown(trim(c->value)) + " does not parse"};
        return false;
      }
      out.ct = std::move(*ct);
    }
    return true;
  }

  // The parts of a multipart entity: line ranges between its delimiters.
  bool parts(const Entity &m, std::vector<std::pair<size_t, size_t>> &out, Failure &f) {
    const std::string *boundary = m.ct.param("boundary");
    if (boundary == nullptr || boundary->empty() || boundary->size() > 70) {
      f = {ArfRefusal::kBadMime, m.ct.text() + " without a boundary of 1 to 70 characters"};
      return false;
    }
    const std::string dash = "--" + *boundary;
    auto only_wsp = [](std::string_view s) {
      return std::all_of(s.begin(), s.end(), [](char c) { return is_wsp(c); });
    };
    std::optional<size_t> start;
    for (size_t i = m.body_begin; i < m.body_end; ++i) {
      const std::string_view l = lines_[i];
      if (l.size() < dash.size() || l.compare(0, dash.size(), dash) != 0) continue;
      const std::string_view rest = l.substr(dash.size());
      if (rest.size() >= 2 && rest[0] == '-' && rest[1] == '-' && only_wsp(rest.substr(2))) {
        if (!start) break;  // a closing delimiter before any part
        out.emplace_back(*start, i);
        return true;
      }
      if (!only_wsp(rest)) continue;
      if (start) out.emplace_back(*start, i);
      if (++parts_ > lim_.max_parts) {
        f = {ArfRefusal::kTooManyParts, "over " + std::to_string(lim_.max_parts) + " MIME parts"};
        return false;
      }
      start = i + 1;
    }
    f = {ArfRefusal::kUnclosedBoundary,
         m.ct.text() + " boundary " + shown(*boundary) +
             (start ? " is never closed" : " never delimits a part")};
    return false;
  }

  struct Found {
    Entity report;
    std::string message_id;  // of the message the report is (or sits in), "" if none
  };

  // Every multipart/report in `e` (itself, its parts, forwarded messages), at most max_depth
  // below the top. Parts of a multipart/report are not searched.
  bool search(const Entity &e, unsigned depth, const std::string &message_id,
              std::vector<Found> &found, Failure &f) {
    if (e.ct.type == "multipart" && e.ct.subtype == "report") {
      found.push_back({e, message_id});
      return true;
    }
    const bool multipart = e.ct.type == "multipart";
    const bool message = e.ct.type == "message" && e.ct.subtype == "rfc822" && identity(e);
    if (!multipart && !message) return true;
    if (depth + 1 > lim_.max_depth) {
      f = {ArfRefusal::kTooDeep, "MIME nesting deeper than " + std::to_string(lim_.max_depth)};
      return false;
    }
    if (message) {
      Entity inner;
      if (!entity(e.body_begin, e.body_end, inner, f)) return false;
      return search(inner, depth + 1, message_id_of(inner), found, f);
    }
    std::vector<std::pair<size_t, size_t>> ps;
    if (!parts(e, ps, f)) return false;
    for (const auto &[b, en] : ps) {
      Entity part;
      if (!entity(b, en, part, f)) return false;
      if (!search(part, depth + 1, message_id, found, f)) return false;
    }
    return true;
  }

  static bool identity(const Entity &e) {
    const Field *cte = e.field("content-transfer-encoding");
    if (cte == nullptr) return true;
    const std::string v = lower(trim(cte->value));
    return v == "7bit" || v == "8bit" || v == "binary";
  }

  static std::string message_id_of(const Entity &e) {
    if (e.count("message-id") != 1) return {};
    const std::string_view id = trim(e.field("message-id")->value);
    if (id.size() < 3 || id.size() > 128 || id.front() != '<' || id.back() != '>') return {};
    for (unsigned char c : id)
      if (c <= 0x20 || c >= 0x7f) return {};
    return std::string(id);
  }

  const Lines &lines() const { return lines_; }

 private:
  const Lines &lines_;
  const ArfLimits &lim_;
  size_t parts_ = 0;
};

// ---- the feedback part --------------------------------------------------------------------

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool decode_qp(const Lines &lines, size_t b, size_t e, std::string &out, Failure &f) {
  for (size_t i = b; i < e; ++i) {
    std::string_view l = lines[i];
    while (!l.empty() && is_wsp(l.back())) l.remove_suffix(1);
    bool soft = false;
    for (size_t k = 0; k < l.size(); ++k) {
      if (l[k] != '=') {
        out += l[k];
        continue;
      }
      if (k + 1 == l.size()) {
        soft = true;
        break;
      }
      const int hi = k + 2 < l.size() ? hex_value(l[k + 1]) : -1;
      const int lo = k + 2 < l.size() ? hex_value(l[k + 2]) : -1;
      if (hi < 0 || lo < 0) {
        f = {ArfRefusal::kBadEncoding, "feedback part line " + std::to_string(i - b + 1) +
                                           ": '=' not followed by two hex digits"};
        return false;
      }
      out += static_cast<char>(hi * 16 + lo);
      k += 2;
    }
    if (!soft) out += '\n';
  }
  return true;
}

bool decode_base64(const Lines &lines, size_t b, size_t e, std::string &out, Failure &f) {
  std::string text;
  for (size_t i = b; i < e; ++i) text.append(lines[i]);
  out.resize(text.size() / 4 * 3 + 3);
  size_t n = 0;
  const char *end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char *>(out.data()), out.size(), text.data(),
                        text.size(), " \t", &n, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    f = {ArfRefusal::kBadEncoding, "the feedback part is not valid base64"};
    return false;
  }
  out.resize(n);
  return true;
}

// "192.0.2.1", " 192.0.2.1 (comment)": the address, IPv4-mapped IPv6 as IPv4.
std::optional<rep::IpAddress> source_ip(std::string_view v) {
  v = trim(v);
  if (!v.empty() && v.back() == ')') {
    const size_t open = v.find('(');
    if (open == std::string_view::npos) return std::nullopt;
    v = trim(v.substr(0, open));
  }
  auto a = rep::parse_ip(v);
  if (a && a->family == 6 && (a->v6 >> 32) == rep::U128{0xffff}) {
    rep::IpAddress v4;
    v4.family = 4;
    v4.v4 = static_cast<uint32_t>(a->v6);
    return v4;
  }
  return a;
}

std::string collapse_ws(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : trim(v)) {
    if (is_wsp(c) || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// A field's value as shown: white space runs as one space, other bytes outside printable ASCII
// as '?', at most kMaxFieldValue bytes.
std::string bounded(std::string_view v) {
  std::string out = collapse_ws(v);
  if (out.size() > kMaxFieldValue) out.resize(kMaxFieldValue);
  for (char &c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return out;
}

void make_key(const std::string &message_id, const std::vector<Field> &fields, ArfReport &r) {
  std::string in;
  if (!message_id.empty()) {
    in = "message-id\n" + message_id;
    r.key_text = message_id;
  } else {
    in = "fields\n";
    for (const auto &f : fields) in += f.name + ":" + collapse_ws(f.value) + "\n";
  }
  crypto_generichash(r.key.data(), r.key.size(), reinterpret_cast<const unsigned char *>(in.data()),
                     in.size(), nullptr, 0);
  if (message_id.empty()) {
    static const char kHex[] = "0123456789abcdef";
    r.key_text = "fields:";
    for (size_t i = 0; i < 8; ++i) {
      r.key_text += kHex[r.key[i] >> 4];
      r.key_text += kHex[r.key[i] & 15];
    }
  }
}

bool feedback(const Reader &reader, const Entity &part, const ArfLimits &lim,
              const std::string &message_id, ArfResult &res, Failure &f) {
  const Lines &lines = reader.lines();
  std::string decoded;
  const Field *cte = part.field("content-transfer-encoding");
  const std::string enc = cte ? lower(trim(cte->value)) : "";
  Lines body;
  if (enc.empty() || enc == "7bit" || enc == "8bit" || enc == "binary") {
    body.assign(lines.begin() + static_cast<ptrdiff_t>(part.body_begin),
                lines.begin() + static_cast<ptrdiff_t>(part.body_end));
  } else {
    if (enc == "base64") {
      if (!decode_base64(lines, part.body_begin, part.body_end, decoded, f)) return false;
    } else if (enc == "quoted-printable") {
      if (!decode_qp(lines, part.body_begin, part.body_end, decoded, f)) return false;
    } else {
      f = {ArfRefusal::kBadEncoding,
           "the feedback part's Content-Transfer-Encoding " + shown(enc) + " is unknown"};
      return false;
    }
    if (decoded.find('\0') != std::string::npos) {
      f = {ArfRefusal::kBinary, "the decoded feedback part holds a NUL byte"};
      return false;
    }
    body = split_lines(decoded);
  }
  std::vector<Field> fields;
  size_t after = 0;
  if (!read_header(body, 0, body.size(), lim, "feedback part", fields, after, f)) return false;
  for (size_t i = after; i < body.size(); ++i)
    if (!trim(body[i]).empty()) {
      f = {ArfRefusal::kBadHeader,
           where("feedback part", i + 1) + ": text after the end of the report's fields"};
      return false;
    }
  auto count = [&](std::string_view n) {
    return std::count_if(fields.begin(), fields.end(), [&](const Field &x) { return x.name == n; });
  };
  auto value = [&](std::string_view n) -> std::string {
    for (const auto &x : fields)
      if (x.name == n) return x.value;
    return {};
  };
  for (const char *req : {"feedback-type", "user-agent", "version"}) {
    const auto n = count(req);
    const std::string shown_name = req[0] == 'f'   ? "Feedback-Type"
                                   : req[0] == 'u' ? "User-Agent"
                                                   : "Version";
    if (n == 0) {
      f = {ArfRefusal::kMissingField, "the feedback part has no " + shown_name + " field"};
      return false;
    }
    if (n > 1) {
      f = {ArfRefusal::kBadField,
           "the feedback part has " + std::to_string(n) + " " + shown_name + " fields"};
      return false;
    }
  }
  ArfReport &r = res.report;
  r.feedback_type = lower(trim(value("feedback-type")));
  // RFC 5965 3.1: a token. An empty one names no kind of feedback at all.
  if (r.feedback_type.empty()) {
    f = {ArfRefusal::kMissingField, "the feedback part's Feedback-Type field is empty"};
    return false;
  }
  if (r.feedback_type == "not-spam" || r.feedback_type == "auth-failure") {
    f = {ArfRefusal::kNotComplaint,
         "Feedback-Type " + shown(r.feedback_type) + " is not a complaint about the source"};
    return false;
  }
  const auto sources = count("source-ip");
  if (sources == 0) {
    f = {ArfRefusal::kNoSourceIp, "no Source-IP in the feedback part"};
    return false;
  }
  if (sources > 1) {
    f = {ArfRefusal::kSeveralSourceIps,
         std::to_string(sources) +
             " Source-IP fields in the feedback part: which one is true "
             "cannot be known"};
    return false;
  }
  const std::string ip_text = value("source-ip");
  const auto ip = source_ip(ip_text);
  if (!ip) {
    f = {ArfRefusal::kBadSourceIp,
         "Source-IP " + shown(trim(ip_text)) + " is not an IPv4 or IPv6 address"};
    return false;
  }
  r.source = *ip;
  r.source_reserved = is_reserved_address(*ip);
  r.feedback_type = bounded(r.feedback_type);
  r.user_agent = bounded(value("user-agent"));
  r.version = bounded(value("version"));
  r.arrival_date = bounded(value("arrival-date"));
  for (const auto &x : fields)
    if (x.name == "reported-domain" && r.reported_domains.size() < kMaxReportedDomains)
      r.reported_domains.push_back(bounded(x.value));
  make_key(message_id, fields, r);
  return true;
}

}  // namespace

std::string_view to_string(ArfRefusal r) {
  constexpr std::string_view kNames[kArfRefusalCount] = {"none",
                                                         "empty",
                                                         "too_large",
                                                         "binary",
                                                         "line_too_long",
                                                         "bad_header",
                                                         "bad_mime",
                                                         "unclosed_boundary",
                                                         "too_many_parts",
                                                         "too_deep",
                                                         "not_report",
                                                         "wrong_report_type",
                                                         "several_reports",
                                                         "no_feedback_part",
                                                         "bad_encoding",
                                                         "missing_field",
                                                         "bad_field",
                                                         "not_complaint",
                                                         "no_source_ip",
                                                         "several_source_ips",
                                                         "bad_source_ip"};
  return kNames[static_cast<size_t>(r)];
}

bool is_reserved_address(const rep::IpAddress &a) {
  if (a.family == 4) {
    static constexpr std::pair<uint32_t, int> kV4[] = {
        {0x00000000, 8},  {0x0a000000, 8},  {0x64400000, 10}, {0x7f000000, 8},  {0xa9fe0000, 16},
        {0xac100000, 12}, {0xc0000000, 24}, {0xc0000200, 24}, {0xc0a80000, 16}, {0xc6120000, 15},
        {0xc6336400, 24}, {0xcb007100, 24}, {0xe0000000, 3}};
    for (const auto &[net, len] : kV4)
      if (rep::prefix_contains<uint32_t>(net, len, a.v4)) return true;
    return false;
  }
  const rep::U128 v = a.v6;
  auto p = [](uint64_t hi) { return rep::U128{hi} << 64; };
  static constexpr std::pair<uint64_t, int> kV6[] = {
      {0x0000000000000000, 96},  // ::/96 (::, ::1, IPv4-compatible)
      {0x0100000000000000, 64},  // discard
      {0x2001000000000000, 23},  // IETF protocol assignments (2001:2::/48 benchmark within)
      {0x20010db800000000, 32},  // documentation
      {0xfc00000000000000, 7},   // unique local
      {0xfe80000000000000, 10},  // link local
      {0xff00000000000000, 8}};  // multicast
  for (const auto &[hi, len] : kV6)
    if (rep::prefix_contains<rep::U128>(p(hi), len, v)) return true;
  return false;
}

ArfResult parse_arf_report(std::string_view mail, const ArfLimits &lim) {
  ArfResult res;
  Failure f;
  auto refuse = [&](Failure fl) {
    res.refusal = fl.refusal;
    res.detail = std::move(fl.detail);
    return res;
  };
  if (mail.empty()) return refuse({ArfRefusal::kEmpty, "an empty mail"});
  if (mail.size() > lim.max_bytes)
    return refuse({ArfRefusal::kTooLarge, std::to_string(mail.size()) + " bytes, over the " +
                                              std::to_string(lim.max_bytes) + "-byte limit"});
  if (const size_t nul = mail.find('\0'); nul != std::string_view::npos)
    return refuse({ArfRefusal::kBinary, "a NUL byte at offset " + std::to_string(nul)});
  const Lines lines = split_lines(mail);
  Reader reader(lines, lim);
  Entity top;
  if (!reader.entity(0, lines.size(), top, f)) return refuse(std::move(f));
  std::vector<Reader::Found> found;
  if (!reader.search(top, 0, Reader::message_id_of(top), found, f)) return refuse(std::move(f));
  if (found.empty())
    return refuse(
        {ArfRefusal::kNotReport, "not a multipart/report (Content-Type: " + top.ct.text() + ")"});
  std::vector<const Reader::Found *> feedback_reports;
  std::string other_type;
  for (const auto &r : found) {
    const std::string *t = r.report.ct.param("report-type");
    if (t != nullptr && lower(*t) == "feedback-report")
      feedback_reports.push_back(&r);
    else if (other_type.empty())
      other_type = t ? *t : "none";
  }
  if (feedback_reports.empty())
    return refuse({ArfRefusal::kWrongReportType, "a multipart/report of report-type " +
                                                     shown(other_type) + ", not feedback-report"});
  if (feedback_reports.size() > 1)
    return refuse({ArfRefusal::kSeveralReports,
                   std::to_string(feedback_reports.size()) + " feedback reports in one mail"});
  const Reader::Found &rep = *feedback_reports.front();
  std::vector<std::pair<size_t, size_t>> parts;
  if (!reader.parts(rep.report, parts, f)) return refuse(std::move(f));
  if (parts.size() < 2)
    return refuse({ArfRefusal::kNoFeedbackPart, "the report has " + std::to_string(parts.size()) +
                                                    " part, no second (feedback) part"});
  Entity fb;
  if (!reader.entity(parts[1].first, parts[1].second, fb, f)) return refuse(std::move(f));
  if (fb.ct.type != "message" || fb.ct.subtype != "feedback-report")
    return refuse({ArfRefusal::kNoFeedbackPart, "the report's second part is " + fb.ct.text() +
                                                    ", not message/feedback-report"});
  if (!feedback(reader, fb, lim, rep.message_id, res, f)) return refuse(std::move(f));
  return res;
}

}  // namespace sluice::sluiced::arf
