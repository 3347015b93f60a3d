// Ed25519 keys for the feed (libsodium): generation, base64 text forms and key files.
//
// A secret key file holds the 32-byte seed in standard base64 on one line (`#` lines and blank
// lines ignored); the public key is derived from it. Public keys are written in base64 too.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "codec.h"

namespace sluice::feed {

// Initialises libsodium once; throws sluice::Error if it cannot.
void ensure_sodium();

struct KeyPair {
  PublicKey pub{};
  SecretKey secret{};
};
KeyPair generate_keypair();
KeyPair keypair_from_seed(const std::array<uint8_t, 32> &seed);

std::string to_base64(const uint8_t *data, size_t len);
// Standard base64 with padding, exactly `len` bytes decoded; nullopt otherwise.
std::optional<std::string> from_base64(std::string_view text, size_t len);

std::optional<PublicKey> parse_public_key(std::string_view base64);
std::string format_public_key(const PublicKey &k);
std::string format_seed(const SecretKey &k);  // the key file's line

// Reads a secret key file; throws sluice::Error ("FILE: reason").
KeyPair load_secret_key(const std::string &path);
KeyPair parse_secret_key(std::string_view text, const std::string &path);

}  // namespace sluice::feed
