#include "store/schema.h"

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

constexpr Migration kMigrations[] = {
    {1, kVersion1},
    {2, kVersion2},
};
static_assert(std::size(kMigrations) == kSchemaVersion, "one migration per schema version");
static_assert(kApplicationId == 1953460335, "kVersion1 spells the application id in decimal");

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

Status Migrate(Database& db, int from, int to) {
  if (from < 0 || to > kSchemaVersion || from > to)
    return Status::Internal("cannot migrate schema from version " + std::to_string(from) + " to " +
                            std::to_string(to));
  for (const Migration& m : Migrations()) {
    if (m.version <= from || m.version > to) continue;
    TOPO_ASSIGN_OR_RETURN(Transaction txn, Transaction::Begin(db));
    Status st = db.Exec(m.sql);
    if (st.ok()) st = db.Exec("PRAGMA user_version = " + std::to_string(m.version));
    if (st.ok()) st = txn.Commit();
    if (!st.ok())
      return Status(st.code(), "migrating schema to version " + std::to_string(m.version) + ": " +
                                   st.message());
  }
  return Status::Ok();
}

}  // namespace topo::store
