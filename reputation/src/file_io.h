// Small file helpers shared by the snapshot, delta and source readers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sluice/reputation/snapshot.h"

namespace sluice::reputation::detail {

// The whole file; throws Error("PATH: cannot read: REASON").
std::string read_file(const std::string &path);

// A list file's bytes as stored: a regular file of at most max_size bytes that did not change
// while it was read. `limit_owner` names what sets max_size in messages ("source 'zen'").
// Throws SourceError: kUnreadable (cannot open or read, not a regular file, changed while read),
// kTooLarge.
std::string read_list(const std::string &path, uint64_t max_size, const std::string &limit_owner);

// A list's text from its bytes: unchanged unless they start with the gzip magic (1f 8b, whatever
// the file's name), else decompressed (every member, as gzip -d reads `cat a.gz b.gz`), at most
// max_size bytes. Throws SourceError: kTooLarge (naming the limit), kTruncated ("PATH: truncated
// gzip stream"), kCorrupt (bad header, data or checksum, trailing garbage).
std::string decode_list(std::string bytes, const std::string &path, uint64_t max_size,
                        const std::string &limit_owner);

bool is_gzip(std::string_view bytes);

// Writes bytes to a temporary file in the same directory, fsyncs it (when durable) and renames it
// over path, so readers never see a partial file and an existing file survives any failure.
// Throws Error.
void write_file_atomic(const std::string &path, std::span<const uint8_t> bytes,
                       Durability durability = Durability::kDurable);
// The same for a file given as consecutive pieces (e.g. a table's header and its arrays, so the
// whole image is never copied into one buffer).
void write_file_atomic(const std::string &path, std::span<const std::span<const uint8_t>> pieces,
                       Durability durability = Durability::kDurable);

}  // namespace sluice::reputation::detail
