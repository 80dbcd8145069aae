#include "store/sqlite_projection.h"

#include <sqlite3.h>

#include <cstdio>
#include <type_traits>

#include "util/encoding.h"

namespace topo::store {
namespace {

bool IsPlainIdentifier(std::string_view name) {
  if (name.empty() || name.size() > 128) return false;
  for (char c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

void AppendValue(Statement& st, int col, std::string* out) {
  switch (sqlite3_column_type(st.raw(), col)) {
    case SQLITE_NULL:
      out->append("NULL");
      break;
    case SQLITE_INTEGER:
      out->append(std::to_string(st.Int64(col)));
      break;
    case SQLITE_FLOAT: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", sqlite3_column_double(st.raw(), col));
      out->append(buf);
      break;
    }
    case SQLITE_TEXT: {
      out->push_back('\'');
      for (unsigned char c : st.Text(col)) {
        if (c == '\'') {
          out->append("''");
        } else if (c < 0x20 || c == 0x7f || c == '\\') {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\x%02x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
      }
      out->push_back('\'');
      break;
    }
    default:  // SQLITE_BLOB
      out->append("x'");
      out->append(HexEncode(st.Blob(col)));
      out->push_back('\'');
      break;
  }
}

}  // namespace

Status SqliteProjectionSink::Execute(const ProjectionWrite& w) {
  Statement& st = db_.Prepare(w.sql);
  for (size_t i = 0; i < w.args.size(); ++i) {
    const int index = static_cast<int>(i + 1);
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::monostate>) {
            st.BindNull(index);
          } else if constexpr (std::is_same_v<T, Bytes>) {
            st.Bind(index, ByteView(v));
          } else {
            st.Bind(index, v);
          }
        },
        w.args[i]);
  }
  Status status = st.Run();
  st.Reset();  // drop the pointers into w.args
  return status;
}

Status DumpTable(Database& db, std::string_view table, std::string* out) {
  if (!IsPlainIdentifier(table))
    return Status::InvalidArgument("'" + std::string(table) + "' is not a table name");
  std::string name(table);
  TOPO_ASSIGN_OR_RETURN(Statement exists,
                        db.PrepareUncached("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                           "AND name = ?1"));
  TOPO_ASSIGN_OR_RETURN(bool found, exists.Bind(1, std::string_view(name)).Step());
  if (!found) return Status::NotFound("no table named " + name);

  TOPO_ASSIGN_OR_RETURN(Statement probe, db.PrepareUncached("SELECT * FROM \"" + name + "\""));
  const int n = probe.column_count();
  std::string sql = "SELECT * FROM \"" + name + "\" ORDER BY ";
  out->append("table " + name + " (");
  for (int i = 0; i < n; ++i) {
    if (i) {
      sql.append(", ");
      out->append(", ");
    }
    sql.append(std::to_string(i + 1));
    out->append(sqlite3_column_name(probe.raw(), i));
  }
  out->append(")\n");
  TOPO_ASSIGN_OR_RETURN(Statement rows, db.PrepareUncached(sql));
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, rows.Step());
    if (!row) break;
    for (int i = 0; i < n; ++i) {
      if (i) out->push_back('|');
      AppendValue(rows, i, out);
    }
    out->push_back('\n');
  }
  return Status::Ok();
}

Result<std::vector<std::string>> ProjectionTables(Database& db) {
  // GLOB is case-sensitive and its '_' is literal, unlike LIKE.
  TOPO_ASSIGN_OR_RETURN(Statement st,
                        db.PrepareUncached("SELECT name FROM sqlite_master WHERE type = 'table' "
                                           "AND (name = 'object_values' OR name GLOB 'proj_*') "
                                           "ORDER BY name"));
  std::vector<std::string> names;
  for (;;) {
    TOPO_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) break;
    names.emplace_back(st.Text(0));
  }
  return names;
}

}  // namespace topo::store
