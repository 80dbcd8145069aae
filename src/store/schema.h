// The SQLite schema of a topo database and the migrations that build it.
//
// The schema version lives in PRAGMA user_version; PRAGMA application_id holds kApplicationId
// so that another program's SQLite file is never mistaken for ours. A new database starts at
// version 0 and runs every migration. Each migration runs in its own transaction together
// with the user_version bump, so a crash leaves the file at one version or the next, never
// between. A released migration is never edited: a change is a new step at the end.
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
// Version 3: smaller rows and indexes, so that a million vertices stay cheap to look up
//   objects(key INTEGER PRIMARY KEY, id)   a small integer per object id (genesis id)
//   vertices(seq, id, id8, obj, type, depth, created_at, applied_at, raw)
//            obj is the objects.key of the vertex's object; the author column is gone (it
//            is inside raw). id8 = Id8(id); index vertices_by_id8 (id8), not unique, replaces
//            the unique index on the 32-byte id: a lookup is "id8 = ? AND id = ?". Ordered
//            indexes vertices_by_order (obj, depth, id), vertices_by_created (obj,
//            created_at, id).
//   heads(obj, id)                     keyed by the object's integer key
//   blocked(id, raw) WITHOUT ROWID     no missing counter: a vertex still waits while
//                                      blocked_deps holds a row for it
// The step copies every row into new tables (computing id8 with the SQL function topo_id8,
// which the step registers) and drops the old ones: on a large database it takes time and
// twice the space until a VACUUM. rejected, blocked_deps, state, object_values and meta are
// unchanged. objects may hold an object whose genesis is not applied (heads name it).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "util/bytes.h"
#include "util/status.h"

namespace topo::store {

class Database;

// The schema version this binary writes and reads.
constexpr int kSchemaVersion = 3;
// "topo" in ASCII.
constexpr int32_t kApplicationId = 0x746f706f;

struct Migration {
  int version;  // the version the database is at once this step has run
  std::string_view sql;
  // What SQL alone cannot do, run first in the step's transaction (nullptr for most steps):
  // registering the SQL functions `sql` calls.
  Status (*prepare)(Database& db) = nullptr;
};

// vertices.id8: the first 8 bytes of a vertex id read as a big-endian signed integer (an id
// shorter than 8 bytes, which only hand-made rows have, is padded with zero bytes). Ids are
// uniform hashes, so id8 values rarely collide, and a lookup by id8 walks an index of
// 8-byte integers instead of 32-byte blobs.
int64_t Id8(ByteView id);

// Every migration, in order: element i brings a database from version i to i + 1.
std::span<const Migration> Migrations();

// Runs the migrations that bring `db` from version `from` to `to`, each in one transaction.
// REQUIRES: 0 <= from <= to <= kSchemaVersion, no transaction open on db.
Status Migrate(Database& db, int from, int to);

}  // namespace topo::store
