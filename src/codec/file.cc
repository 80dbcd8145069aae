#include "codec/file.h"

#include "codec/reader.h"
#include "util/encoding.h"

namespace topo::codec {

uint64_t FileManifest::ChunkLength(uint64_t i) const {
  const uint64_t start = i << chunk_shift;
  const uint64_t left = size - start;
  return left < chunk_size() ? left : chunk_size();
}

uint64_t ChunkCount(uint64_t size, uint8_t shift) {
  return (size >> shift) + ((size & ((uint64_t{1} << shift) - 1)) ? 1 : 0);
}

Result<uint8_t> ChooseChunkShift(uint64_t size) {
  for (uint8_t shift = kDefaultChunkShift; shift <= kMaxChunkShift; ++shift)
    if (ChunkCount(size, shift) <= kMaxFileChunks) return shift;
  return Status::InvalidArgument("the file is over the limit of " +
                                 std::to_string(kMaxFileBytes >> 30) + " GiB");
}

Bytes EncodeFileManifest(const FileManifest& m) {
  Writer w;
  w.bytes().reserve(64 + 32 * m.chunks.size() + m.name.size() + m.mime.size());
  w.U8(kFileManifestVersion);
  w.Varint(m.size);
  w.U8(m.chunk_shift);
  w.Varint(m.chunks.size());
  for (const auto& c : m.chunks) w.Fixed(c);
  w.Fixed(m.content_hash);
  w.LenString(m.name);
  w.LenString(m.mime);
  return w.Take();
}

Result<FileManifest> DecodeFileManifest(ByteView bytes) {
  Reader r(bytes);
  FileManifest m;
  uint8_t version = 0;
  TOPO_RETURN_IF_ERROR(r.U8("file_manifest.version", version));
  if (version != kFileManifestVersion)
    return Status::Corruption("file_manifest.version: unknown version " + std::to_string(version));
  TOPO_RETURN_IF_ERROR(r.VarintMax("file_manifest.size", kMaxFileBytes, m.size));
  TOPO_RETURN_IF_ERROR(r.U8("file_manifest.chunk_shift", m.chunk_shift));
  if (m.chunk_shift < kMinChunkShift || m.chunk_shift > kMaxChunkShift)
    return Status::Corruption("file_manifest.chunk_shift: " + std::to_string(m.chunk_shift) +
                              " is outside " + std::to_string(kMinChunkShift) + ".." +
                              std::to_string(kMaxChunkShift));
  uint64_t n = 0;
  TOPO_RETURN_IF_ERROR(r.VarintMax("file_manifest.chunk_count", kMaxFileChunks, n));
  if (n != ChunkCount(m.size, m.chunk_shift))
    return Status::Corruption("file_manifest.chunk_count: " + std::to_string(n) +
                              " chunks do not hold " + std::to_string(m.size) + " bytes");
  // Checked before allocating: n addresses must be there.
  if (r.remaining() < n * 32) return Status::Corruption("file_manifest.chunks: truncated");
  m.chunks.resize(n);
  for (auto& c : m.chunks) TOPO_RETURN_IF_ERROR(r.Fixed("file_manifest.chunks", c));
  TOPO_RETURN_IF_ERROR(r.Fixed("file_manifest.content_hash", m.content_hash));
  TOPO_RETURN_IF_ERROR(r.LenString("file_manifest.name", kMaxFileNameBytes, m.name));
  TOPO_RETURN_IF_ERROR(r.LenString("file_manifest.mime", kMaxFileMimeBytes, m.mime));
  TOPO_RETURN_IF_ERROR(r.ExpectEnd("file_manifest"));
  return m;
}

crypto::Nonce24 ChunkNonce(ChunkKind kind, uint64_t index) {
  crypto::Nonce24 n;
  n.bytes[0] = static_cast<uint8_t>(kind);
  for (int i = 0; i < 8; ++i) n.bytes[1 + i] = static_cast<uint8_t>(index >> (56 - 8 * i));
  return n;
}

ChunkAddress AddressOfChunk(ByteView ciphertext) { return crypto::Hash(kChunkDomain, ciphertext); }

Result<Bytes> SealChunk(const crypto::SecretBytes& key, ChunkKind kind, uint64_t index,
                        ByteView plaintext) {
  return crypto::AeadEncrypt(key, ChunkNonce(kind, index), AsBytes(kFileAeadData), plaintext);
}

Result<Bytes> OpenChunk(const crypto::SecretBytes& key, ChunkKind kind, uint64_t index,
                        ByteView ciphertext) {
  return crypto::AeadDecryptContent(key, ChunkNonce(kind, index), AsBytes(kFileAeadData),
                                    ciphertext);
}

std::string EncodeFileRef(const FileRef& ref) {
  Bytes b;
  b.reserve(65);
  b.push_back(kFileRefVersion);
  Append(b, ref.manifest.view());
  Append(b, ref.key.view());
  return std::string(kFileRefPrefix) + Base32Encode(b);
}

Result<FileRef> ParseFileRef(std::string_view text) {
  if (text.substr(0, kFileRefPrefix.size()) != kFileRefPrefix)
    return Status::InvalidArgument("not a file reference: it must start with \"" +
                                   std::string(kFileRefPrefix) + "\"");
  auto b = Base32Decode(text.substr(kFileRefPrefix.size()));
  if (!b.ok() || b->size() != 65)
    return Status::InvalidArgument("not a file reference: the text after \"" +
                                   std::string(kFileRefPrefix) +
                                   "\" is damaged or cut short (104 base32 characters expected)");
  if ((*b)[0] != kFileRefVersion)
    return Status::InvalidArgument("a file reference of unknown version " +
                                   std::to_string((*b)[0]) + " (from a newer topo?)");
  FileRef ref;
  ref.manifest = ChunkAddress::FromView(ByteView(*b).subspan(1, 32));
  ref.key = crypto::SecretBytes::CopyOf(ByteView(*b).subspan(33, 32));
  return ref;
}

}  // namespace topo::codec
