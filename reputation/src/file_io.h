// Small file helpers shared by the snapshot, delta and source readers.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace sluice::reputation::detail {

// The whole file; throws Error("PATH: cannot read: REASON").
std::string read_file(const std::string &path);

// Writes bytes to a temporary file in the same directory, fsyncs it and renames it over path,
// so readers never see a partial file and an existing file survives any failure. Throws Error.
void write_file_atomic(const std::string &path, std::span<const uint8_t> bytes);

}  // namespace sluice::reputation::detail
