#include "store/schema.h"

#include <sqlite3.h>

#include <string>

#include "store/database.h"

namespace topo::store {
namespace {

constexpr std::string_view kVersion1 = R"sql(
CREATE TABLE vertices (
  seq        INTEGER PRIMARY KEY,
  id         BLOB NOT NULL UNIQUE,
  object     BLOB NOT NULL,
  type       INTEGER NOT NULL,
  depth      INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  author     BLOB NOT NULL,
  raw        BLOB NOT NULL
);
CREATE INDEX vertices_by_order ON vertices (object, depth, id);
CREATE TABLE heads (
  object BLOB,
  id     BLOB,
  PRIMARY KEY (object, id)
) WITHOUT ROWID;
CREATE TABLE rejected (
  id          BLOB PRIMARY KEY,
  object      BLOB NOT NULL,
  reason      TEXT NOT NULL,
  raw         BLOB NOT NULL,
  rejected_at INTEGER NOT NULL
);
CREATE TABLE blocked (
  id      BLOB PRIMARY KEY,
  raw     BLOB NOT NULL,
  missing INTEGER NOT NULL
);
CREATE TABLE blocked_deps (
  dep BLOB,
  id  BLOB,
  PRIMARY KEY (dep, id)
) WITHOUT ROWID;
-- Dropping a blocked vertex deletes its rows by id.
CREATE INDEX blocked_deps_by_id ON blocked_deps (id);
CREATE TABLE state (
  object BLOB,
  key    BLOB,
  value  BLOB NOT NULL,
  PRIMARY KEY (object, key)
) WITHOUT ROWID;
CREATE TABLE object_values (
  object BLOB,
  path   TEXT,
  value  TEXT NOT NULL,
  PRIMARY KEY (object, path)
) WITHOUT ROWID;
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value BLOB
);
PRAGMA application_id = 1953460335;
)sql";

constexpr std::string_view kVersion2 = R"sql(
ALTER TABLE vertices ADD COLUMN applied_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX vertices_by_created ON vertices (object, created_at, id);
)sql";

// Copies every row into the new layouts. Object keys are given in order of first arrival,
// then to objects that only the heads name (AddHead does not need an applied genesis).
constexpr std::string_view kVersion3 = R"sql(
CREATE TABLE objects (
  key INTEGER PRIMARY KEY,
  id  BLOB NOT NULL UNIQUE
);
INSERT INTO objects (id) SELECT object FROM vertices GROUP BY object ORDER BY min(seq);
INSERT OR IGNORE INTO objects (id) SELECT DISTINCT object FROM heads ORDER BY object;

CREATE TABLE vertices_v3 (
  seq        INTEGER PRIMARY KEY,
  id         BLOB NOT NULL,
  id8        INTEGER NOT NULL,
  obj        INTEGER NOT NULL,
  type       INTEGER NOT NULL,
  depth      INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  applied_at INTEGER NOT NULL,
  raw        BLOB NOT NULL
);
INSERT INTO vertices_v3 (seq, id, id8, obj, type, depth, created_at, applied_at, raw)
  SELECT v.seq, v.id, topo_id8(v.id), o.key, v.type, v.depth, v.created_at, v.applied_at, v.raw
  FROM vertices v JOIN objects o ON o.id = v.object ORDER BY v.seq;
DROP TABLE vertices;
ALTER TABLE vertices_v3 RENAME TO vertices;
-- Built after the copy: one sort each instead of a million scattered inserts.
CREATE INDEX vertices_by_id8 ON vertices (id8);
CREATE INDEX vertices_by_order ON vertices (obj, depth, id);
CREATE INDEX vertices_by_created ON vertices (obj, created_at, id);

CREATE TABLE heads_v3 (
  obj INTEGER,
  id  BLOB,
  PRIMARY KEY (obj, id)
) WITHOUT ROWID;
INSERT INTO heads_v3 (obj, id) SELECT o.key, h.id FROM heads h JOIN objects o ON o.id = h.object;
DROP TABLE heads;
ALTER TABLE heads_v3 RENAME TO heads;

CREATE TABLE blocked_v3 (
  id  BLOB PRIMARY KEY,
  raw BLOB NOT NULL
) WITHOUT ROWID;
INSERT INTO blocked_v3 (id, raw) SELECT id, raw FROM blocked;
DROP TABLE blocked;
ALTER TABLE blocked_v3 RENAME TO blocked;
)sql";

void Id8Function(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  const void* p = sqlite3_value_blob(argv[0]);
  int n = sqlite3_value_bytes(argv[0]);  // after value_blob, as SQLite requires
  sqlite3_result_int64(ctx, Id8(ByteView(static_cast<const uint8_t*>(p), p ? n : 0)));
}

// Registers topo_id8(blob) on this connection for kVersion3's copy. DIRECTONLY: it may
// not appear in the schema (an index or view using it would not open without it).
Status RegisterId8(Database& db) {
  int rc = sqlite3_create_function_v2(db.raw(), "topo_id8", 1,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
                                      nullptr, &Id8Function, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK)
    return Status::IOError(std::string("registering topo_id8: ") + sqlite3_errstr(rc));
  return Status::Ok();
}

constexpr Migration kMigrations[] = {
    {1, kVersion1},
    {2, kVersion2},
    {3, kVersion3, &RegisterId8},
};
static_assert(std::size(kMigrations) == kSchemaVersion, "one migration per schema version");
static_assert(kApplicationId == 1953460335, "kVersion1 spells the application id in decimal");

}  // namespace

int64_t Id8(ByteView id) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | (i < id.size() ? id[i] : 0);
  return static_cast<int64_t>(v);
}

std::span<const Migration> Migrations() { return kMigrations; }

Status Migrate(Database& db, int from, int to) {
  if (from < 0 || to > kSchemaVersion || from > to)
    return Status::Internal("cannot migrate schema from version " + std::to_string(from) + " to " +
                            std::to_string(to));
  for (const Migration& m : Migrations()) {
    if (m.version <= from || m.version > to) continue;
    TOPO_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(db));
    Status st = m.prepare ? m.prepare(db) : Status::Ok();
    if (st.ok()) st = db.Exec(m.sql);
    if (st.ok()) st = db.Exec("PRAGMA user_version = " + std::to_string(m.version));
    if (st.ok()) st = txn.Commit();
    if (!st.ok())
      return Status(st.code(), "migrating schema to version " + std::to_string(m.version) + ": " +
                                   st.message());
  }
  return Status::Ok();
}

}  // namespace topo::store
