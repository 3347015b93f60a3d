// The text of a Boost.Program_options error, safe to print. Boost's what() fills placeholders
// (%value%, %canonical_option%, ...) with what the user typed, in a loop that never ends when
// that text holds the placeholder itself: `sluicectl --timeout '%value%' status` hung. Errors
// that carry user text get a message built from the option's name instead.
#pragma once

#include <boost/program_options/errors.hpp>
#include <string>

namespace sluice {

inline std::string po_error_text(const boost::program_options::error &e) {
  namespace po = boost::program_options;
  if (const auto *v = dynamic_cast<const po::validation_error *>(&e))
    return "invalid value for option '" + v->get_option_name() + "'";
  if (const auto *u = dynamic_cast<const po::unknown_option *>(&e))
    return "unknown option '" + u->get_option_name() + "'";
  if (const auto *a = dynamic_cast<const po::ambiguous_option *>(&e))
    return "ambiguous option '" + a->get_option_name() + "'";
  if (const auto *m = dynamic_cast<const po::multiple_occurrences *>(&e))
    return "option '" + m->get_option_name() + "' given more than once";
  if (const auto *r = dynamic_cast<const po::required_option *>(&e))
    return "option '" + r->get_option_name() + "' is required";
  if (const auto *s = dynamic_cast<const po::invalid_syntax *>(&e))
    return "malformed option '" + s->get_option_name() + "'";
  if (const auto *n = dynamic_cast<const po::error_with_option_name *>(&e))
    return "bad option '" + n->get_option_name() + "'";
  return e.what();  // the other errors substitute nothing the user typed
}

}  // namespace sluice
