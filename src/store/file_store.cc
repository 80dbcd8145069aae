#include "store/file_store.h"

namespace topo::store {

namespace {

constexpr std::string_view kFileTables = R"sql(
CREATE TABLE IF NOT EXISTS file_chunks (
  address BLOB PRIMARY KEY,
  data    BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
  manifest BLOB PRIMARY KEY,
  key      BLOB NOT NULL,
  name     TEXT NOT NULL,
  mime     TEXT NOT NULL,
  size     INTEGER NOT NULL,
  chunks   INTEGER NOT NULL,
  origin   TEXT NOT NULL,
  added_at INTEGER NOT NULL,
  path     TEXT NOT NULL
);
)sql";

constexpr std::string_view kFileColumns =
    "manifest, key, name, mime, size, chunks, origin, added_at, path";

Result<StoredFile> ReadFileRow(Statement& st) {
  StoredFile f;
  auto manifest = st.Fixed<32>(0);
  if (!manifest.ok()) return manifest.status();
  f.manifest = *manifest;
  f.key = st.BlobBytes(1);
  f.name = std::string(st.Text(2));
  f.mime = std::string(st.Text(3));
  f.size = static_cast<uint64_t>(st.Int64(4));
  f.chunks = static_cast<uint64_t>(st.Int64(5));
  f.origin = std::string(st.Text(6));
  f.added_at_ms = static_cast<uint64_t>(st.Int64(7));
  f.path = std::string(st.Text(8));
  return f;
}

}  // namespace

Result<FileStore> FileStore::Open(Database& db) {
  // Cheap when they exist: one look at the schema.
  Statement& exists = db.Prepare(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('file_chunks', "
      "'files')");
  Result<bool> row = exists.Step();
  int64_t have = row.ok() && *row ? exists.Int64(0) : 0;
  exists.Reset();
  if (!row.ok()) return row.status();
  if (have != 2) TOPO_RETURN_IF_ERROR(db.Exec(kFileTables));
  return FileStore(db);
}

Result<bool> FileStore::HasChunk(const codec::ChunkAddress& address) {
  Statement& st = db_->Prepare("SELECT 1 FROM file_chunks WHERE address = ?1");
  Result<bool> row = st.Bind(1, address).Step();
  st.Reset();
  return row;
}

Result<std::optional<Bytes>> FileStore::GetChunk(const codec::ChunkAddress& address) {
  Statement& st = db_->Prepare("SELECT data FROM file_chunks WHERE address = ?1");
  Result<bool> row = st.Bind(1, address).Step();
  std::optional<Bytes> out;
  if (row.ok() && *row) out = st.BlobBytes(0);
  st.Reset();
  if (!row.ok()) return row.status();
  return out;
}

Status FileStore::PutChunk(const codec::ChunkAddress& address, ByteView ciphertext) {
  return db_->Prepare("INSERT OR IGNORE INTO file_chunks (address, data) VALUES (?1, ?2)")
      .Bind(1, address)
      .Bind(2, ciphertext)
      .Run();
}

Result<FileStore::Holding> FileStore::Check(const std::vector<codec::ChunkAddress>& addresses) {
  Holding h;
  for (const auto& a : addresses) {
    TOPO_ASSIGN_OR_RETURN(bool held, HasChunk(a));
    if (held)
      ++h.held;
    else
      h.missing.push_back(a);
  }
  return h;
}

Status FileStore::Remember(const StoredFile& f) {
  return db_
      ->Prepare(
          "INSERT OR REPLACE INTO files (manifest, key, name, mime, size, chunks, origin, "
          "added_at, path) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
      .Bind(1, f.manifest)
      .Bind(2, ByteView(f.key))
      .Bind(3, f.name)
      .Bind(4, f.mime)
      .Bind(5, static_cast<int64_t>(f.size))
      .Bind(6, static_cast<int64_t>(f.chunks))
      .Bind(7, f.origin)
      .Bind(8, static_cast<int64_t>(f.added_at_ms))
      .Bind(9, f.path)
      .Run();
}

Result<std::optional<StoredFile>> FileStore::Find(const codec::ChunkAddress& manifest) {
  static const std::string sql =
      "SELECT " + std::string(kFileColumns) + " FROM files WHERE manifest = ?1";
  Statement& st = db_->Prepare(sql);
  Result<bool> row = st.Bind(1, manifest).Step();
  std::optional<StoredFile> out;
  Status status;
  if (row.ok() && *row) {
    auto f = ReadFileRow(st);
    if (f.ok())
      out = std::move(f).value();
    else
      status = f.status();
  }
  st.Reset();
  if (!row.ok()) return row.status();
  if (!status.ok()) return status;
  return out;
}

Result<std::vector<StoredFile>> FileStore::List() {
  static const std::string sql =
      "SELECT " + std::string(kFileColumns) + " FROM files ORDER BY added_at DESC, manifest";
  Statement& st = db_->Prepare(sql);
  std::vector<StoredFile> out;
  Status status;
  for (;;) {
    Result<bool> row = st.Step();
    if (!row.ok()) {
      status = row.status();
      break;
    }
    if (!*row) break;
    auto f = ReadFileRow(st);
    if (!f.ok()) {
      status = f.status();
      break;
    }
    out.push_back(std::move(f).value());
  }
  st.Reset();
  if (!status.ok()) return status;
  return out;
}

}  // namespace topo::store
