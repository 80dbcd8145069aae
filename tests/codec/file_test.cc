// The file manifest, chunk sealing and the file reference (codec/file.h): round trips, the
// bytes docs/PROTOCOL.md section 15 describes, and every rejection of the strict decoders.
#include "codec/file.h"

#include <gtest/gtest.h>

#include "util/encoding.h"
#include "util/varint.h"

namespace topo::codec {
namespace {

Hash32 Filled(uint8_t b) {
  Hash32 h;
  h.bytes.fill(b);
  return h;
}

FileManifest Sample() {
  FileManifest m;
  m.size = 2 * (uint64_t{1} << 20) + 5;  // two full chunks and five bytes
  m.chunk_shift = 20;
  for (uint8_t i = 1; i <= 3; ++i) m.chunks.push_back(Filled(i));
  m.content_hash = Filled(0xcc);
  m.name = "report é.pdf";
  m.mime = "application/pdf";
  return m;
}

TEST(FileManifest, RoundTripsAndHasTheDocumentedLayout) {
  FileManifest m = Sample();
  Bytes b = EncodeFileManifest(m);
  auto d = DecodeFileManifest(b);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->size, m.size);
  EXPECT_EQ(d->chunk_shift, 20);
  EXPECT_EQ(d->chunks, m.chunks);
  EXPECT_EQ(d->content_hash, m.content_hash);
  EXPECT_EQ(d->name, m.name);
  EXPECT_EQ(d->mime, m.mime);
  EXPECT_EQ(EncodeFileManifest(*d), b) << "canonical: decode then encode gives the same bytes";

  // version 1, size 2097157 = varint 85 80 80 01, shift 20, count 3, then the addresses.
  Bytes head = {0x01, 0x85, 0x80, 0x80, 0x01, 0x14, 0x03};
  ASSERT_GE(b.size(), head.size());
  EXPECT_EQ(Bytes(b.begin(), b.begin() + 7), head);
  EXPECT_EQ(b.size(), 7 + 3 * 32 + 32 + 1 + m.name.size() + 1 + m.mime.size());
  EXPECT_EQ(d->ChunkLength(0), uint64_t{1} << 20);
  EXPECT_EQ(d->ChunkLength(2), 5u);
}

TEST(FileManifest, AnEmptyFileHasNoChunks) {
  FileManifest m;
  m.chunk_shift = kDefaultChunkShift;
  auto d = DecodeFileManifest(EncodeFileManifest(m));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_TRUE(d->chunks.empty());
  EXPECT_EQ(d->size, 0u);
}

TEST(FileManifest, TheDecoderRefusesEverythingNonCanonicalOrOutOfBounds) {
  const Bytes good = EncodeFileManifest(Sample());
  struct Case {
    const char* what;
    Bytes bytes;
    const char* field;
  };
  auto with = [&](size_t at, uint8_t v) {
    Bytes b = good;
    b[at] = v;
    return b;
  };
  auto manifest = [](uint64_t size, uint8_t shift, uint64_t count, size_t name_len = 0) {
    Bytes b;
    b.push_back(1);
    PutVarint(b, size);
    b.push_back(shift);
    PutVarint(b, count);
    for (uint64_t i = 0; i < count && i < 4; ++i) b.insert(b.end(), 32, 7);
    b.insert(b.end(), 32, 9);
    PutVarint(b, name_len);
    b.insert(b.end(), name_len, 'a');
    b.push_back(0);
    return b;
  };
  Bytes truncated = good;
  truncated.resize(truncated.size() - 1);
  Bytes trailing = good;
  trailing.push_back(0);
  Bytes overlong = {0x01, 0x85, 0x80, 0x80, 0x81, 0x00};  // size with a redundant group
  Bytes bad_utf8 = manifest(0, 20, 0, 1);
  bad_utf8[bad_utf8.size() - 2] = 0xff;
  std::vector<Case> cases = {
      {"empty", {}, "file_manifest.version"},
      {"version 0", with(0, 0), "file_manifest.version"},
      {"version 2", with(0, 2), "file_manifest.version"},
      {"shift 15", with(5, 15), "file_manifest.chunk_shift"},
      {"shift 23", with(5, 23), "file_manifest.chunk_shift"},
      {"count 2 for 3 chunks' bytes", with(6, 2), "file_manifest.chunk_count"},
      {"count 4 for 3 chunks' bytes", with(6, 4), "file_manifest.chunk_count"},
      {"an empty file with a chunk", manifest(0, 20, 1), "file_manifest.chunk_count"},
      {"a count over the bound", manifest(kMaxFileBytes, 22, kMaxFileChunks + 1),
       "file_manifest.chunk_count"},
      {"a size over the bound", manifest(kMaxFileBytes + 1, 22, kMaxFileChunks + 1),
       "file_manifest.size"},
      {"a count claiming more addresses than there are bytes",
       manifest(kMaxFileBytes, 22, kMaxFileChunks), "file_manifest.chunks"},
      {"non-canonical varint", overlong, "file_manifest.size"},
      {"a name over 255 bytes", manifest(0, 20, 0, 256), "file_manifest.name"},
      {"a name that is not UTF-8", bad_utf8, "file_manifest.name"},
      {"truncated", truncated, "file_manifest"},
      {"trailing byte", trailing, "file_manifest: trailing bytes"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto d = DecodeFileManifest(c.bytes);
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.status().code(), Code::kCorruption);
    EXPECT_NE(d.status().message().find(c.field), std::string::npos) << d.status().message();
  }
  // The largest manifest fits in one chunk message.
  EXPECT_LE(7 + 10 + kMaxFileChunks * 32 + 32 + 2 + kMaxFileNameBytes + 1 + kMaxFileMimeBytes +
                crypto::kAeadTagBytes,
            kMaxChunkCiphertextBytes);
}

TEST(FileManifest, ChunkSizeGrowsOnlyForHugeFiles) {
  EXPECT_EQ(*ChooseChunkShift(0), kDefaultChunkShift);
  EXPECT_EQ(*ChooseChunkShift(uint64_t{1} << 30), kDefaultChunkShift);
  EXPECT_EQ(*ChooseChunkShift(kMaxFileChunks << 20), 20);
  EXPECT_EQ(*ChooseChunkShift((kMaxFileChunks << 20) + 1), 21);
  EXPECT_EQ(*ChooseChunkShift(kMaxFileBytes), kMaxChunkShift);
  EXPECT_FALSE(ChooseChunkShift(kMaxFileBytes + 1).ok());
}

TEST(FileChunk, SealsUnderItsIndexAndKindOnly) {
  auto key = crypto::SecretBytes::Random(32);
  Bytes plain = ToBytes("the quick brown fox");
  auto sealed = SealChunk(key, ChunkKind::kContent, 7, plain);
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(sealed->size(), plain.size() + crypto::kAeadTagBytes);
  auto opened = OpenChunk(key, ChunkKind::kContent, 7, *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, plain);
  // Moved to another index, read as the manifest, or under another key: refused.
  EXPECT_FALSE(OpenChunk(key, ChunkKind::kContent, 8, *sealed).ok());
  EXPECT_FALSE(OpenChunk(key, ChunkKind::kManifest, 7, *sealed).ok());
  EXPECT_FALSE(OpenChunk(crypto::SecretBytes::Random(32), ChunkKind::kContent, 7, *sealed).ok());
  Bytes flipped = *sealed;
  flipped[3] ^= 1;
  EXPECT_FALSE(OpenChunk(key, ChunkKind::kContent, 7, flipped).ok());
  EXPECT_NE(AddressOfChunk(flipped), AddressOfChunk(*sealed));
  EXPECT_EQ(AddressOfChunk(*sealed), crypto::Hash("topo.file.chunk.v1", *sealed));

  // The nonce: kind, then the index big-endian, then zeros.
  crypto::Nonce24 n = ChunkNonce(ChunkKind::kManifest, 0x0102030405060708);
  EXPECT_EQ(HexEncode(n.view()),
            "01"
            "0102030405060708" +
                std::string(30, '0'));
}

TEST(FileRef, RoundTripsAsText) {
  FileRef ref{Filled(0xab), crypto::SecretBytes::CopyOf(Filled(0x11).view())};
  std::string text = EncodeFileRef(ref);
  EXPECT_EQ(text.rfind("topo-file:", 0), 0u);
  EXPECT_EQ(text.size(), 10u + 104u);
  auto back = ParseFileRef(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->manifest, ref.manifest);
  EXPECT_TRUE(crypto::ConstantTimeEqual(back->key.view(), ref.key.view()));
}

TEST(FileRef, BadReferencesAreRefusedWithAReason) {
  FileRef ref{Filled(0xab), crypto::SecretBytes::CopyOf(Filled(0x11).view())};
  const std::string good = EncodeFileRef(ref);
  Bytes v2 = {2};
  v2.insert(v2.end(), 64, 0);
  for (const std::string& bad :
       {std::string(""), std::string("topo-file:"), good.substr(0, good.size() - 1), good + "a",
        "topo-link:" + good.substr(10), good.substr(0, 20) + "!" + good.substr(21),
        "topo-file:" + Base32Encode(v2)}) {
    SCOPED_TRACE(bad);
    auto r = ParseFileRef(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("reference"), std::string::npos);
  }
}

}  // namespace
}  // namespace topo::codec
