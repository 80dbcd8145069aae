// FileStore: the encrypted chunks of files (codec/file.h) and the files this node knows, in
// the node's SQLite database.
//
//   file_chunks(address BLOB PRIMARY KEY, data BLOB)   ciphertext by its address; a rowid
//                                                      table, since rows are up to 4 MiB
//   files(manifest BLOB PRIMARY KEY, key, name, mime, size, chunks, origin, added_at, path)
//                                                      files added here or saved here, with
//                                                      their key (the database holds what it
//                                                      can read, like opened messages)
//
// The tables are created by Open (CREATE TABLE IF NOT EXISTS), outside the numbered
// migrations of store/schema.h, so that files can land beside other schema work without
// renumbering; they are plain additions that no migration touches.
//
// Chunks are stored whole (each at most codec::kMaxChunkCiphertextBytes), so a read or
// write holds one chunk in memory, never a file. Resuming a fetch needs no other state: a
// chunk held is a row here.
//
// Not done yet: nothing deletes chunks or files (no garbage collection of chunks that no
// remembered file needs, no file.remove), and a file.add that fails half-way leaves the
// chunks it stored.
//
// Not thread-safe: the Database's thread (the node's loop).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "codec/file.h"
#include "store/database.h"

namespace topo::store {

struct StoredFile {
  codec::ChunkAddress manifest;
  Bytes key;  // 32 bytes
  std::string name, mime;
  uint64_t size = 0;
  uint64_t chunks = 0;
  std::string origin;  // "added" or "saved"
  uint64_t added_at_ms = 0;
  std::string path;  // where it was read from or last saved to
};

class FileStore {
 public:
  // Creates the tables when missing. The database must outlive the store.
  static Result<FileStore> Open(Database& db);

  Result<bool> HasChunk(const codec::ChunkAddress& address);
  // nullopt when not held.
  Result<std::optional<Bytes>> GetChunk(const codec::ChunkAddress& address);
  // Stores `ciphertext` under `address` (kept as it is when already held).
  // REQUIRES: address == codec::AddressOfChunk(ciphertext): callers verify, the store trusts.
  Status PutChunk(const codec::ChunkAddress& address, ByteView ciphertext);
  // How many of `addresses` are held, and the first few that are not.
  struct Holding {
    uint64_t held = 0;
    std::vector<codec::ChunkAddress> missing;  // every missing one
  };
  Result<Holding> Check(const std::vector<codec::ChunkAddress>& addresses);

  // Remembers a file (replacing what was remembered under its manifest).
  Status Remember(const StoredFile& f);
  Result<std::optional<StoredFile>> Find(const codec::ChunkAddress& manifest);
  // Newest first.
  Result<std::vector<StoredFile>> List();

  Database& db() { return *db_; }

 private:
  explicit FileStore(Database& db) : db_(&db) {}
  Database* db_;
};

}  // namespace topo::store
