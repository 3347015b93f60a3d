// image_checksum(): see snapshot.h. Four lanes of 64-bit words so the multiplies overlap; the
// rotate after each multiply carries high bits back down (a multiply alone only moves bits
// upwards, so two flips of the same top bit would cancel).
#include <cstdint>
#include <cstring>

#include "sluice/reputation/snapshot.h"

namespace sluice::reputation {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

inline uint64_t rotl(uint64_t v, int r) {
  return (v << r) | (v >> (64 - r));
}
inline uint64_t mix(uint64_t h, uint64_t w) {
  return rotl((h ^ w) * kFnvPrime, 29);
}

inline uint64_t load64(const uint8_t *p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

// The four lanes and the length folded into the checksum, then the final avalanche (the
// MurmurHash3 finaliser): the end of image_checksum and of ImageChecksum alike.
uint64_t finish_lanes(const uint64_t (&lane)[4], size_t size) {
  uint64_t h = kFnvOffset ^ size;
  for (uint64_t l : lane) h = mix(h, l);
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

}  // namespace

uint64_t image_checksum(const uint8_t *image, size_t size) {
  constexpr size_t kSkipBegin = 56, kSkipEnd = 64;
  uint64_t lane[4] = {kFnvOffset, kFnvOffset ^ 1, kFnvOffset ^ 2, kFnvOffset ^ 3};
  size_t i = 0;
  // The header block (first 64 bytes) word by word, with the checksum field as zero.
  for (; i + 8 <= size && i < kSkipEnd; i += 8) {
    uint64_t w = (i >= kSkipBegin && i < kSkipEnd) ? 0 : load64(image + i);
    lane[(i / 8) & 3] = mix(lane[(i / 8) & 3], w);
  }
  for (; i + 32 <= size; i += 32) {
    lane[0] = mix(lane[0], load64(image + i));
    lane[1] = mix(lane[1], load64(image + i + 8));
    lane[2] = mix(lane[2], load64(image + i + 16));
    lane[3] = mix(lane[3], load64(image + i + 24));
  }
  for (; i + 8 <= size; i += 8) lane[(i / 8) & 3] = mix(lane[(i / 8) & 3], load64(image + i));
  if (i < size) {
    uint64_t w = 0;
    std::memcpy(&w, image + i, size - i);
    lane[(i / 8) & 3] = mix(lane[(i / 8) & 3], w);
  }
  return finish_lanes(lane, size);
}

ImageChecksum::ImageChecksum()
    : lane_{kFnvOffset, kFnvOffset ^ 1, kFnvOffset ^ 2, kFnvOffset ^ 3}, part_{} {}

ImageChecksum ImageChecksum::block() {
  ImageChecksum c;
  c.skip_at_ = SIZE_MAX;
  return c;
}

void ImageChecksum::word(uint64_t w) {
  const size_t at = size_ - 8;
  if (at == skip_at_) w = 0;  // an image's header checksum field counts as zero
  lane_[(at / 8) & 3] = mix(lane_[(at / 8) & 3], w);
}

void ImageChecksum::update(const void *data, size_t n) {
  if (n == 0) return;  // (data may be null: an empty array)
  const auto *p = static_cast<const uint8_t *>(data);
  // Complete a started word first.
  if (size_t have = size_ % 8; have != 0) {
    const size_t take = n < 8 - have ? n : 8 - have;
    std::memcpy(part_ + have, p, take);
    size_ += take;
    p += take;
    n -= take;
    if (size_ % 8 != 0) return;
    word(load64(part_));
  }
  // Whole words; four at a time once at a lane-0 offset past the header (the bulk of a table).
  while (n >= 8 && (size_ % 32 != 0 || size_ < 64)) {
    size_ += 8;
    word(load64(p));
    p += 8;
    n -= 8;
  }
  for (; n >= 32; n -= 32, p += 32, size_ += 32) {
    lane_[0] = mix(lane_[0], load64(p));
    lane_[1] = mix(lane_[1], load64(p + 8));
    lane_[2] = mix(lane_[2], load64(p + 16));
    lane_[3] = mix(lane_[3], load64(p + 24));
  }
  for (; n >= 8; n -= 8, p += 8) {
    size_ += 8;
    word(load64(p));
  }
  if (n != 0) {
    std::memcpy(part_, p, n);
    size_ += n;
  }
}

uint64_t ImageChecksum::finish() {
  if (const size_t have = size_ % 8; have != 0) {
    uint64_t w = 0;
    std::memcpy(&w, part_, have);
    const size_t at = size_ - have;
    lane_[(at / 8) & 3] = mix(lane_[(at / 8) & 3], w);  // as image_checksum's tail: not zeroed
  }
  return finish_lanes(lane_, size_);
}

uint64_t block_checksum(const void *data, size_t size) {
  ImageChecksum c = ImageChecksum::block();
  c.update(data, size);
  return c.finish();
}

uint64_t table_checksum(const SnapshotHeader &header, const uint64_t (&arrays)[4]) {
  uint8_t summary[sizeof(SnapshotHeader) + sizeof arrays];
  SnapshotHeader h = header;
  h.checksum = 0;
  std::memcpy(summary, &h, sizeof h);
  std::memcpy(summary + sizeof h, arrays, sizeof arrays);
  return image_checksum(summary, sizeof summary);
}

}  // namespace sluice::reputation
