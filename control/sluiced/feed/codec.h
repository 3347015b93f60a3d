// The feed's wire format (docs/feed.md section 1): a header line "SLUICE-FEED/1 NAME SIG\n" and
// a JSON body. Encoding, signing, and a parser that refuses anything outside schema v1.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "observation.h"
#include "sluice_error.h"

namespace sluice::feed {

// Why a batch is refused (docs/feed.md section 2); the order is the order of the checks.
enum class Refusal : uint8_t {
  kOversize,
  kMalformed,
  kWrongVersion,
  kUnknownParticipant,
  kSubjectMismatch,
  kBadSignature,
  kReplay,
  kStale,
  kFuture,
};
inline constexpr size_t kRefusalCount = 9;
std::string_view to_string(Refusal r);

using PublicKey = std::array<uint8_t, 32>;
using SecretKey = std::array<uint8_t, 64>;  // libsodium's form: seed followed by public key
using Signature = std::array<uint8_t, 64>;

// The header line, split (nothing verified yet).
struct Header {
  std::string_view participant;
  Signature signature{};
  std::string_view body;  // everything after the header line
};

// Steps 1-3 of the checks: size, header line form, version.
std::variant<Header, Refusal> split_message(std::string_view message);

// Step 7: the body as schema v1. `error` (if given) says what is wrong, for logs and tests.
std::variant<Batch, Refusal> parse_body(std::string_view body, std::string *error = nullptr);

// The body's JSON text for a batch (compact). Throws sluice::Error when the batch would break a
// limit of the format (so a publisher never sends what a reader must refuse).
std::string encode_body(const Batch &batch);

// The bytes one observation takes in a body (without the comma between observations); throws as
// encode_body does for an observation outside the format's limits.
size_t encoded_size(const Observation &o);
// What a message takes besides its observations, at most: the header line (a 63-character name,
// the signature) and the body's other members.
inline constexpr size_t kMessageOverhead = 512;

// The bytes the signature covers: "sluice-feed/1\0" + body.
std::string signed_bytes(std::string_view body);

// The whole message: header line + body, signed with `key`.
std::string seal(std::string_view participant, std::string_view body, const SecretKey &key);

}  // namespace sluice::feed
