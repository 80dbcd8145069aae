// Files on disk in and out of the chunk store (codec/file.h, store/file_store.h): reading a
// file into encrypted chunks and writing one back from them. Both stream: one chunk (at most
// 4 MiB) is in memory at a time, whatever the file's size.
//
// They run on the caller's thread with the store's database (the node's loop): a large file
// holds the loop for as long as its bytes take to read, encrypt and store (about a second
// per 200 MB on the build machine).
#pragma once

#include <string>

#include "codec/file.h"
#include "store/file_store.h"

namespace topo::node {

struct AddedFile {
  codec::FileRef ref;
  codec::FileManifest manifest;
};

// Reads the regular file at `path` to its end, chunks and encrypts it under a new random
// key, stores the chunks and the manifest (in transactions of about 16 MiB), and remembers
// the file ("added"). `name` defaults to the path's last component.
// NotFound (no such file), PermissionDenied (unreadable), InvalidArgument (a directory, not
// a regular file, over codec::kMaxFileBytes), IOError (a read or the store failed).
Result<AddedFile> AddFile(store::FileStore& store, const std::string& path, std::string name,
                          const std::string& mime, uint64_t now_ms);

// The manifest `ref` names, opened with its key: NotFound when its chunk is not held here,
// Rejected when the key does not open it, Corruption when what it opens to is not a manifest.
Result<codec::FileManifest> OpenManifest(store::FileStore& store, const codec::FileRef& ref);

// Where a file may be saved: InvalidArgument (not absolute, a directory), AlreadyExists
// (a file is there and `replace` is false), NotFound (no such directory).
Status CheckDestination(const std::string& path, bool replace);

// Writes the file to `path` atomically: a temporary file beside it, every chunk opened and
// checked in order, the whole plaintext's hash compared with the manifest's, fsync, then a
// rename (which never replaces an existing file unless `replace`). Nothing is left at `path`
// or beside it when anything fails. REQUIRES: every chunk of `manifest` is held (NotFound
// names the first that is not).
Status WriteFile(store::FileStore& store, const codec::FileRef& ref,
                 const codec::FileManifest& manifest, const std::string& path, bool replace);

}  // namespace topo::node
