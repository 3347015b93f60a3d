#include "keys.h"

#include <sodium.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include "fmt/format.h"
#include "sluice_error.h"

namespace sluice::feed {

void ensure_sodium() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] { ok = sodium_init() >= 0; });
  if (!ok) throw Error("feed: libsodium failed to initialise");
}

KeyPair generate_keypair() {
  ensure_sodium();
  KeyPair k;
  crypto_sign_keypair(k.pub.data(), k.secret.data());
  return k;
}

KeyPair keypair_from_seed(const std::array<uint8_t, 32> &seed) {
  ensure_sodium();
  KeyPair k;
  crypto_sign_seed_keypair(k.pub.data(), k.secret.data(), seed.data());
  return k;
}

std::string to_base64(const uint8_t *data, size_t len) {
  ensure_sodium();
  std::string out(sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), data, len, sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> from_base64(std::string_view text, size_t len) {
  ensure_sodium();
  if (text.size() != sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL) - 1)
    return std::nullopt;
  std::string out(len, '\0');
  size_t got = 0;
  const char *end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char *>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &got, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      got != len || end != text.data() + text.size())
    return std::nullopt;
  // Canonical form only: re-encoding must give the same text (no stray bits in the padding).
  if (to_base64(reinterpret_cast<const uint8_t *>(out.data()), len) != text) return std::nullopt;
  return out;
}

std::optional<PublicKey> parse_public_key(std::string_view base64) {
  auto raw = from_base64(base64, 32);
  if (!raw) return std::nullopt;
  PublicKey k;
  std::copy(raw->begin(), raw->end(), k.begin());
  return k;
}

std::string format_public_key(const PublicKey &k) {
  return to_base64(k.data(), k.size());
}

std::string format_seed(const SecretKey &k) {
  return to_base64(k.data(), 32);
}

KeyPair parse_secret_key(std::string_view text, const std::string &path) {
  std::istringstream in{std::string(text)};
  std::string line;
  unsigned n = 0;
  std::optional<KeyPair> key;
  while (std::getline(in, line)) {
    ++n;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    if (key) throw Error(fmt::format("{}:{}: more than one key", path, n));
    auto raw = from_base64(line, 32);
    if (!raw)
      throw Error(fmt::format("{}:{}: not an Ed25519 seed (44 characters of base64)", path, n));
    std::array<uint8_t, 32> seed;
    std::copy(raw->begin(), raw->end(), seed.begin());
    key = keypair_from_seed(seed);
    sodium_memzero(seed.data(), seed.size());
  }
  if (!key) throw Error(fmt::format("{}: no key", path));
  return *key;
}

KeyPair load_secret_key(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("{}: cannot read", path));
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > 4096) throw Error(fmt::format("{}: too large for a key file", path));
  }
  return parse_secret_key(text, path);
}

}  // namespace sluice::feed
