#include "store/settings.h"

namespace topo::store {

Status PutSetting(Database& db, std::string_view key, std::string_view value) {
  return db.Prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")
      .Bind(1, key)
      .Bind(2, AsBytes(value))
      .Run();
}

Result<std::optional<std::string>> GetSetting(Database& db, std::string_view key) {
  Statement& st = db.Prepare("SELECT value FROM meta WHERE key = ?1");
  Result<bool> row = st.Bind(1, key).Step();
  std::optional<std::string> out;
  if (row.ok() && *row) out = std::string(AsChars(st.Blob(0)));
  st.Reset();
  if (!row.ok()) return row.status();
  return out;
}

Status DeleteSetting(Database& db, std::string_view key) {
  return db.Prepare("DELETE FROM meta WHERE key = ?1").Bind(1, key).Run();
}

Result<std::vector<std::pair<std::string, std::string>>> ListSettings(Database& db,
                                                                      std::string_view prefix) {
  Statement& st =
      db.Prepare("SELECT key, value FROM meta WHERE substr(key, 1, ?2) = ?1 ORDER BY key");
  st.Bind(1, prefix).Bind(2, static_cast<int64_t>(prefix.size()));
  std::vector<std::pair<std::string, std::string>> out;
  Status status;
  for (;;) {
    Result<bool> row = st.Step();
    if (!row.ok()) {
      status = row.status();
      break;
    }
    if (!*row) break;
    out.emplace_back(std::string(st.Text(0)), std::string(AsChars(st.Blob(1))));
  }
  st.Reset();
  if (!status.ok()) return status;
  return out;
}

}  // namespace topo::store
