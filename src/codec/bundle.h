// Bundles: vertices in a file, for offline exchange between replicas.
//
//   [8]     magic "TOPOBNDL"
//   u8      version = 1
//   repeated: varint len (1..kMaxVertexBytes) || signed vertex encoding
//   varint  0                     end of records
//   [32]    BLAKE2b-256, domain "topo.bundle.v1", over every byte before it
//
// The digest catches truncation and accidental damage; each vertex still carries its own
// signature, so a bundle from anywhere is safe to import.
#pragma once

#include <cstdio>
#include <functional>
#include <string>

#include "codec/vertex.h"
#include "crypto/crypto.h"

namespace topo::codec {

class BundleWriter {
 public:
  // Writes to a temporary file beside `path`; Finish() renames it over `path`, so a failed
  // or abandoned export never damages an existing file. Check status() before use.
  explicit BundleWriter(const std::string& path);
  ~BundleWriter();
  BundleWriter(const BundleWriter&) = delete;
  BundleWriter& operator=(const BundleWriter&) = delete;

  const Status& status() const { return status_; }
  Status Add(ByteView vertex);
  // Writes the end marker and digest and closes the file.
  Status Finish();
  uint64_t count() const { return count_; }

 private:
  void Write(ByteView b);
  std::string path_, temp_path_;
  std::FILE* file_ = nullptr;
  crypto::Hasher hasher_{"topo.bundle.v1"};
  Status status_;
  uint64_t count_ = 0;
};

// Reads a bundle, calling fn for each vertex encoding (in file order) and checking the
// digest at the end. Vertices are not decoded here. Memory stays bounded by one record.
// When the digest does not match, the vertices already handed to fn are still valid
// signed vertices; the caller decides whether to keep them.
Status ReadBundle(const std::string& path, const std::function<Status(Bytes)>& fn);

}  // namespace topo::codec
