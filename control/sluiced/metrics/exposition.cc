#include "exposition.h"

#include <charconv>
#include <cmath>
#include <set>

#include "histogram.h"

namespace sluice::sluiced::metrics {
namespace {

bool name_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool digit(char c) {
  return c >= '0' && c <= '9';
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string in_quotes(std::string_view s) {
  return "'" + std::string(s) + "'";
}

}  // namespace

std::string_view to_string(MetricType t) {
  switch (t) {
    case MetricType::counter:
      return "counter";
    case MetricType::gauge:
      return "gauge";
    case MetricType::histogram:
      return "histogram";
  }
  return "untyped";
}

bool valid_metric_name(std::string_view name) {
  if (name.empty() || !(name_start(name[0]) || name[0] == ':')) return false;
  for (char c : name)
    if (!(name_start(c) || digit(c) || c == ':')) return false;
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || !name_start(name[0]) || name.substr(0, 2) == "__") return false;
  for (char c : name)
    if (!(name_start(c) || digit(c))) return false;
  return true;
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  // Integral values below 2^53 are exact as integers: print them as such.
  if (v == std::trunc(v) && std::fabs(v) < 9007199254740992.0)
    return std::to_string(static_cast<int64_t>(v));
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string render_labels(const Labels &labels, const Label *extra) {
  if (labels.empty() && extra == nullptr) return "";
  std::string out = "{";
  bool first = true;
  auto one = [&](const Label &l) {
    if (!first) out += ',';
    first = false;
    out += l.name;
    out += "=\"";
    out += escape_label_value(l.value);
    out += '"';
  };
  for (const auto &l : labels) one(l);
  if (extra != nullptr) one(*extra);
  out += '}';
  return out;
}

void Exposition::declare(std::string_view name, MetricType type, std::string_view help) {
  if (!valid_metric_name(name))
    throw ExpositionError("metric name " + in_quotes(name) + " is invalid");
  if (type == MetricType::counter && !ends_with(name, "_total"))
    throw ExpositionError("counter " + in_quotes(name) + " does not end in _total");
  auto it = families_.find(name);
  if (it != families_.end()) {
    if (it->second.type != type || it->second.help != help)
      throw ExpositionError("metric " + in_quotes(name) + " declared twice, differently");
    return;
  }
  families_.emplace(std::string(name), Family{type, std::string(help), {}});
}

Exposition::Family &Exposition::family_for(std::string_view name, MetricType want) {
  auto it = families_.find(name);
  if (it == families_.end())
    throw ExpositionError("metric " + in_quotes(name) + " is not declared");
  const bool scalar = want != MetricType::histogram;
  const bool is_scalar = it->second.type != MetricType::histogram;
  if (scalar != is_scalar)
    throw ExpositionError("metric " + in_quotes(name) + " is a " +
                          std::string(to_string(it->second.type)));
  return it->second;
}

namespace {

void check_labels(std::string_view metric, const Labels &labels, bool histogram) {
  std::set<std::string_view> seen;
  for (const auto &l : labels) {
    if (!valid_label_name(l.name))
      throw ExpositionError("metric " + in_quotes(metric) + ": label name " + in_quotes(l.name) +
                            " is invalid");
    if (histogram && l.name == "le")
      throw ExpositionError("histogram " + in_quotes(metric) + ": label 'le' is reserved");
    if (!seen.insert(l.name).second)
      throw ExpositionError("metric " + in_quotes(metric) + ": label " + in_quotes(l.name) +
                            " twice");
  }
}

}  // namespace

void Exposition::add_text(std::string_view name, const Labels &labels, std::string value) {
  Family &f = family_for(name, MetricType::gauge);
  check_labels(name, labels, false);
  std::string key = render_labels(labels);
  std::string line = std::string(name) + key + " " + value + "\n";
  if (!f.samples.emplace(std::move(key), std::move(line)).second)
    throw ExpositionError("metric " + in_quotes(name) + ": two samples with labels " +
                          render_labels(labels));
}

void Exposition::add(std::string_view name, const Labels &labels, double value) {
  add_text(name, labels, format_value(value));
}
void Exposition::add(std::string_view name, const Labels &labels, uint64_t value) {
  add_text(name, labels, std::to_string(value));
}
void Exposition::add(std::string_view name, const Labels &labels, int64_t value) {
  add_text(name, labels, std::to_string(value));
}

void Exposition::add(std::string_view name, const Labels &labels, const Histogram &h) {
  Family &f = family_for(name, MetricType::histogram);
  check_labels(name, labels, true);
  std::string key = render_labels(labels);
  std::string lines;
  const std::string n(name);
  for (size_t i = 0; i <= h.bounds().size(); ++i) {
    const Label le{"le", i < h.bounds().size() ? format_value(h.bounds()[i]) : "+Inf"};
    lines +=
        n + "_bucket" + render_labels(labels, &le) + " " + std::to_string(h.cumulative(i)) + "\n";
  }
  lines += n + "_sum" + key + " " + format_value(h.sum()) + "\n";
  lines += n + "_count" + key + " " + std::to_string(h.count()) + "\n";
  if (!f.samples.emplace(std::move(key), std::move(lines)).second)
    throw ExpositionError("metric " + in_quotes(name) + ": two samples with labels " +
                          render_labels(labels));
}

void Exposition::merge(Exposition &&other) {
  for (const auto &[name, f] : other.families_) {
    const auto it = families_.find(name);
    if (it == families_.end()) continue;
    if (it->second.type != f.type || it->second.help != f.help)
      throw ExpositionError("metric '" + name + "' declared twice, differently");
    for (const auto &[key, lines] : f.samples)
      if (it->second.samples.count(key) != 0)
        throw ExpositionError("metric '" + name + "': two samples with labels " + key);
  }
  for (auto &[name, f] : other.families_) {
    auto it = families_.find(name);
    if (it == families_.end()) {
      families_.emplace(name, std::move(f));
      continue;
    }
    for (auto &[key, lines] : f.samples) it->second.samples.emplace(key, std::move(lines));
  }
  other.families_.clear();
}

std::string Exposition::render() const {
  std::string out;
  for (const auto &[name, f] : families_) {
    out += "# HELP " + name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + name + " " + std::string(to_string(f.type)) + "\n";
    for (const auto &[key, lines] : f.samples) out += lines;
  }
  return out;
}

}  // namespace sluice::sluiced::metrics
