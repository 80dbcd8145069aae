#include "store/sqlite_state_store.h"

namespace topo::store {
namespace {

constexpr std::string_view kGet = "SELECT value FROM state WHERE object = ?1 AND key = ?2";
constexpr std::string_view kPut =
    "INSERT OR REPLACE INTO state (object, key, value) VALUES (?1, ?2, ?3)";
constexpr std::string_view kDelete = "DELETE FROM state WHERE object = ?1 AND key = ?2";
constexpr std::string_view kScanBounded =
    "SELECT key, value FROM state WHERE object = ?1 AND key >= ?2 AND key < ?3 ORDER BY key";
constexpr std::string_view kScanFrom =
    "SELECT key, value FROM state WHERE object = ?1 AND key >= ?2 ORDER BY key";

}  // namespace

std::optional<Bytes> PrefixSuccessor(ByteView prefix) {
  Bytes s(prefix.begin(), prefix.end());
  while (!s.empty() && s.back() == 0xff) s.pop_back();
  if (s.empty()) return std::nullopt;
  ++s.back();
  return s;
}

Result<std::optional<Bytes>> SqliteStateStore::Get(const ObjectId& object, ByteView key) {
  Statement& st = db_.Prepare(kGet);
  Result<bool> row = st.Bind(1, object).Bind(2, key).Step();
  std::optional<Bytes> value;
  if (row.ok() && *row) value = st.BlobBytes(0);
  st.Reset();
  if (!row.ok()) return row.status();
  return value;
}

Status SqliteStateStore::Put(const ObjectId& object, ByteView key, ByteView value) {
  return db_.Prepare(kPut).Bind(1, object).Bind(2, key).Bind(3, value).Run();
}

Status SqliteStateStore::Delete(const ObjectId& object, ByteView key) {
  return db_.Prepare(kDelete).Bind(1, object).Bind(2, key).Run();
}

Status SqliteStateStore::Scan(const ObjectId& object, ByteView prefix,
                              const std::function<bool(ByteView, ByteView)>& fn) {
  std::optional<Bytes> end = PrefixSuccessor(prefix);
  Statement& st = db_.Prepare(end ? kScanBounded : kScanFrom);
  st.Bind(1, object).Bind(2, prefix);
  if (end) st.Bind(3, ByteView(*end));
  Status status;
  for (;;) {
    Result<bool> row = st.Step();
    if (!row.ok()) {
      status = row.status();
      break;
    }
    if (!*row || !fn(st.Blob(0), st.Blob(1))) break;
  }
  st.Reset();
  return status;
}

}  // namespace topo::store
