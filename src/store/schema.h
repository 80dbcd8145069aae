// The SQLite schema of a topo database and the migrations that build it.
//
// The schema version lives in PRAGMA user_version; PRAGMA application_id holds kApplicationId
// so that another program's SQLite file is never mistaken for ours. A new database starts at
// version 0 and runs every migration. Each migration runs in its own transaction together
// with the user_version bump, so a crash leaves the file at one version or the next, never
// between. Migrations only ever add: a released migration is never edited, a change is a new
// step at the end.
//
// Version 1
//   vertices(seq INTEGER PRIMARY KEY, id, object, type, depth, created_at, author, raw)
//            seq is the local arrival order; index vertices_by_order (object, depth, id) is
//            the linear order of an object's graph.
//   heads(object, id)                   the frontier of each object
//   rejected(id, object, reason, raw, rejected_at)
//   blocked(id, raw, missing)           vertices waiting for `missing` dependencies
//   blocked_deps(dep, id)               who waits on what; index blocked_deps_by_id (id)
//   state(object, key, value)           StateStore entries
//   object_values(object, path, value)  the generic projection
//   meta(key, value)                    node-local settings
// Version 2
//   vertices.applied_at (ms, local clock, 0 for rows from version 1) and index
//   vertices_by_created (object, created_at, id): the items of set reconciliation.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "util/status.h"

namespace topo::store {

class Database;

// The schema version this binary writes and reads.
constexpr int kSchemaVersion = 2;
// "topo" in ASCII.
constexpr int32_t kApplicationId = 0x746f706f;

struct Migration {
  int version;  // the version the database is at once this step has run
  std::string_view sql;
};

// Every migration, in order: element i brings a database from version i to i + 1.
std::span<const Migration> Migrations();

// Runs the migrations that bring `db` from version `from` to `to`, each in one transaction.
// REQUIRES: 0 <= from <= to <= kSchemaVersion, no transaction open on db.
Status Migrate(Database& db, int from, int to);

}  // namespace topo::store
