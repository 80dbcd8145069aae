// Files: encrypted, content-addressed chunks, the manifest that lists them, and the file
// reference that names a file and carries its key (docs/PROTOCOL.md section 15).
//
// A file is cut into chunks of 2^chunk_shift bytes (the last may be shorter). Chunk i is
// encrypted with XChaCha20-Poly1305 under the file's random 32-byte key, nonce
// ChunkNonce(kContent, i), associated data kFileAeadData; it is stored and exchanged under
// its address, ChunkAddress(ciphertext) = BLAKE2b-256 with domain "topo.file.chunk.v1" over
// the ciphertext. Anyone can check that bytes match an address; only a key holder can read
// them.
//
// The manifest (canonical, strict decoder below) lists the chunk addresses, the size and
// the BLAKE2b-256 of the whole plaintext; it is encrypted the same way with nonce
// ChunkNonce(kManifest, 0) and stored as one more chunk. Its address is the file's id.
//
// Manifest encoding (all integers canonical unsigned LEB128 varints):
//
//   u8      version        = 1
//   varint  size           bytes of plaintext, <= kMaxFileBytes
//   u8      chunk_shift    kMinChunkShift..kMaxChunkShift
//   varint  chunk_count    = ceil(size / 2^chunk_shift) exactly (0 for an empty file)
//   [32]    chunk address  chunk_count times, in file order
//   [32]    content hash   BLAKE2b-256, domain "topo.file.content.v1", of the plaintext
//   varint  name_len       0..kMaxFileNameBytes, then the name, valid UTF-8
//   varint  mime_len       0..kMaxFileMimeBytes, then the MIME type, valid UTF-8
//
// Decoding is strict: a known version, every bound, the exact chunk count, no trailing
// bytes; errors are Status::Corruption naming the field ("file_manifest.chunk_count: ...").
//
// A file reference is the manifest's address and the file key. Text form:
// "topo-file:" + base32 (RFC 4648, lowercase, no padding) of u8 1 || [32] manifest address
// || [32] key: 104 characters after the prefix. Whoever holds it can fetch and read the file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/crypto.h"
#include "util/bytes.h"
#include "util/status.h"

namespace topo::codec {

using ChunkAddress = Hash32;

constexpr uint8_t kFileManifestVersion = 1;
constexpr uint8_t kMinChunkShift = 16;      // 64 KiB
constexpr uint8_t kMaxChunkShift = 22;      // 4 MiB
constexpr uint8_t kDefaultChunkShift = 20;  // 1 MiB
// 2^17 addresses: a manifest stays under 4 MiB + 1 KiB, so it fits in one chunk message.
constexpr uint64_t kMaxFileChunks = uint64_t{1} << 17;
constexpr uint64_t kMaxFileBytes = kMaxFileChunks << kMaxChunkShift;  // 512 GiB
constexpr size_t kMaxFileNameBytes = 255;
constexpr size_t kMaxFileMimeBytes = 127;
// The largest ciphertext of a chunk (the manifest of the largest file included): what a
// receiver accepts in one chunk message.
constexpr size_t kMaxChunkCiphertextBytes = (size_t{4} << 20) + 4096;
constexpr std::string_view kChunkDomain = "topo.file.chunk.v1";
constexpr std::string_view kContentDomain = "topo.file.content.v1";
constexpr std::string_view kFileAeadData = "topo.file.v1";
constexpr std::string_view kFileRefPrefix = "topo-file:";
constexpr uint8_t kFileRefVersion = 1;

struct FileManifest {
  uint64_t size = 0;
  uint8_t chunk_shift = kDefaultChunkShift;
  std::vector<ChunkAddress> chunks;
  Hash32 content_hash;
  std::string name;
  std::string mime;

  uint64_t chunk_size() const { return uint64_t{1} << chunk_shift; }
  // The plaintext length of chunk i. REQUIRES: i < chunks.size().
  uint64_t ChunkLength(uint64_t i) const;
};

// ceil(size / 2^shift).
uint64_t ChunkCount(uint64_t size, uint8_t shift);
// The smallest shift from kDefaultChunkShift up that keeps `size` within kMaxFileChunks;
// InvalidArgument when the file is over kMaxFileBytes.
Result<uint8_t> ChooseChunkShift(uint64_t size);

Bytes EncodeFileManifest(const FileManifest& m);
Result<FileManifest> DecodeFileManifest(ByteView bytes);

enum class ChunkKind : uint8_t { kContent = 0, kManifest = 1 };
// u8 kind || u64 index big-endian || 15 zero bytes.
crypto::Nonce24 ChunkNonce(ChunkKind kind, uint64_t index);
ChunkAddress AddressOfChunk(ByteView ciphertext);

Result<Bytes> SealChunk(const crypto::SecretBytes& key, ChunkKind kind, uint64_t index,
                        ByteView plaintext);
// Rejected when the ciphertext was not made by SealChunk with this key, kind and index.
Result<Bytes> OpenChunk(const crypto::SecretBytes& key, ChunkKind kind, uint64_t index,
                        ByteView ciphertext);

struct FileRef {
  ChunkAddress manifest;
  crypto::SecretBytes key;  // 32 bytes

  FileRef Clone() const { return FileRef{manifest, key.Clone()}; }
};
std::string EncodeFileRef(const FileRef& ref);
// InvalidArgument with a reason a user can act on ("not a topo-file: reference", ...).
Result<FileRef> ParseFileRef(std::string_view text);

}  // namespace topo::codec
