#include "rep_table_snapshot.h"

namespace sluice::dataplane {

std::unique_ptr<RepTable> rep_table_from_snapshot(const reputation::Snapshot &snap) {
  return std::make_unique<RepTable>(snap.entries());
}

}  // namespace sluice::dataplane
