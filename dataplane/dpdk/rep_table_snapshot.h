// Builds sluice-dp's lookup structures from a compiled snapshot (reputation library).
#pragma once

#include <memory>

#include "rep_table.h"
#include "sluice/reputation/snapshot.h"

namespace sluice::dataplane {

std::unique_ptr<RepTable> rep_table_from_snapshot(const reputation::Snapshot &snap);

}  // namespace sluice::dataplane
