// Projections: SQL tables that mirror object state for queries. A projector (object layer)
// is a pure function that returns ProjectionWrites; the store executes them in the current
// transaction. Replaying the same vertices in any order must give the same tables.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "util/bytes.h"
#include "util/status.h"

namespace topo::store {

// NULL, integer, text or blob, as SQLite binds them.
using SqlValue = std::variant<std::monostate, int64_t, std::string, Bytes>;

// One parameterised statement against a projection table ("INSERT OR REPLACE INTO proj_x
// (a, b) VALUES (?1, ?2)"). Statements are prepared once and cached by their text.
struct ProjectionWrite {
  std::string sql;
  std::vector<SqlValue> args;
};

// Where projection writes go. SqliteProjectionSink runs them; MemProjectionSink records the
// resulting rows well enough for tests that do not have SQLite at hand.
class ProjectionSink {
 public:
  virtual ~ProjectionSink() = default;
  virtual Status Execute(const ProjectionWrite& w) = 0;
};

}  // namespace topo::store
