// SqliteProjectionSink runs projectors' writes against a Database, and two helpers read
// projection tables back for tests and diagnostics.
//
// Projection tables are `object_values` (the generic projection, schema.h) and any table
// whose name starts with "proj_" (created by a blueprint's projector).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "store/database.h"
#include "store/projection.h"

namespace topo::store {

// Executes each ProjectionWrite in the caller's transaction as a cached prepared statement
// (one per distinct SQL text), binding args[i] to ?(i+1). Rows a statement returns are
// ignored. Not thread-safe; the Database must outlive the sink.
class SqliteProjectionSink final : public ProjectionSink {
 public:
  explicit SqliteProjectionSink(Database& db) : db_(db) {}
  Status Execute(const ProjectionWrite& w) override;

 private:
  Database& db_;
};

// Appends to *out a text dump of every row of `table`, ordered by all its columns: equal
// tables give equal dumps, so replicas compare by string. The first line names the table and
// its columns; each row is one line of '|'-separated values: NULL, integers in decimal,
// reals as %.17g, text in single quotes (quote doubled, control bytes and '\' as \xNN),
// blobs as x'hex'.
// InvalidArgument for a name that is not [A-Za-z0-9_]+, NotFound for a missing table.
Status DumpTable(Database& db, std::string_view table, std::string* out);

// The names of the projection tables in the database, sorted.
Result<std::vector<std::string>> ProjectionTables(Database& db);

}  // namespace topo::store
