// sluiced's configuration file (default /etc/sluice/sluiced.ini; docs/sluiced.md lists every
// key), read with Boost.Program_options' config-file parser.
//
// Every concern declares its own [section] with ConfigSchema::add_section: option names are
// "section.key" (e.g. "store.path"). Keys nobody declared are refused. Sections whose names
// are not known in advance (sluiced's "[source.NAME]") are claimed by prefix with add_dynamic.
// Every error is a ConfigError "FILE: reason" ("FILE: line N: reason" for a line that is neither
// a key nor a section: Boost's parser gives no line numbers, so those lines are checked first).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options.hpp>

#include "sluice_error.h"

namespace sluice::sluiced {

namespace po = boost::program_options;

class ConfigError : public sluice::Error {
 public:
  using sluice::Error::Error;
};

// Claims a key whose full name starts with a registered prefix ("source.zen.max_shrink" for
// prefix "source."). Throws ConfigError("reason") for a key or value it does not take; the
// loader adds the file name.
using DynamicKeyHandler = std::function<void(const std::string &key, const std::string &value)>;

class ConfigSchema {
 public:
  // Option names must be "section.key". Repeatable keys are po::value<std::vector<T>>.
  void add_section(const po::options_description &keys);
  void add_dynamic(std::string prefix, DynamicKeyHandler handler);

  // Parses the file (or stream) against every declared key. Throws ConfigError("FILE: reason")
  // for a file that cannot be read, a syntax error, an unknown key, a key given twice that is
  // not repeatable, or a value of the wrong type; dynamic handlers' errors likewise.
  po::variables_map load(const std::string &path) const;
  po::variables_map parse(std::istream &in, const std::string &name) const;

  const po::options_description &keys() const { return all_; }

 private:
  po::options_description all_{"sluiced.ini"};
  std::vector<std::pair<std::string, DynamicKeyHandler>> dynamic_;
};

// "250ms", "30s", "5m", "2h", "1d", or a plain number of seconds. Throws ConfigError
// ("KEY: reason") for anything else, negative values included.
std::chrono::milliseconds parse_duration(std::string_view text, const std::string &key);
// Octal permission bits ("0660"); ConfigError("KEY: reason") unless 0 .. 0777.
mode_t parse_mode(std::string_view text, const std::string &key);
// A group name or number; ConfigError("KEY: reason") for an unknown group.
gid_t parse_group(std::string_view text, const std::string &key);
// A percentage 0 .. 100 ("50", "50%"); ConfigError("KEY: reason") otherwise.
double parse_percent(std::string_view text, const std::string &key);

// The text of a declared string key, or null when the file does not set it.
const std::string *config_value(const po::variables_map &vm, const std::string &key);
// A boolean key (true/yes/on/1, false/no/off/0), `dflt` when unset; ConfigError("KEY: reason")
// for any other text.
bool config_bool(const po::variables_map &vm, const std::string &key, bool dflt);

// Shown in messages: a duration as the operator would write it ("5m", "250ms").
std::string format_duration(std::chrono::milliseconds d);

// A whole-number key (decimal digits only), `dflt` when unset; ConfigError("KEY: 'V' is not a
// whole number MIN..MAX") otherwise.
uint64_t config_whole_number(const po::variables_map &vm, const std::string &key, uint64_t dflt,
                             uint64_t min, uint64_t max);
// A duration key (parse_duration) within MIN .. MAX, `dflt` when unset; ConfigError("KEY: 'V' is
// outside MIN .. MAX") beyond.
std::chrono::milliseconds config_duration(const po::variables_map &vm, const std::string &key,
                                          std::chrono::milliseconds dflt,
                                          std::chrono::milliseconds min,
                                          std::chrono::milliseconds max);

}  // namespace sluice::sluiced
