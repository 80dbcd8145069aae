// FileStore (store/file_store.h): chunks by address survive a reopen, which is what a fetch
// resumes from; files are remembered and listed.
#include "store/file_store.h"

#include <gtest/gtest.h>

#include "testing/temp_dir.h"

namespace topo::store {
namespace {

using ::topo::testing::TempDir;

Bytes Chunk(uint8_t fill, size_t n) { return Bytes(n, fill); }

TEST(FileStore, ChunksHeldSurviveAReopenAndOnlyTheOthersAreMissing) {
  TempDir dir;
  std::vector<codec::ChunkAddress> all;
  for (uint8_t i = 0; i < 6; ++i) all.push_back(codec::AddressOfChunk(Chunk(i, 1000 + i)));
  {
    auto db = Database::Open(dir.File("a.db"));
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    auto files = FileStore::Open(**db);
    ASSERT_TRUE(files.ok()) << files.status().ToString();
    // Half of a file arrived before the fetch was interrupted.
    for (uint8_t i = 0; i < 6; i += 2)
      ASSERT_TRUE(files->PutChunk(all[i], Chunk(i, 1000 + i)).ok());
    // Storing a chunk again is harmless.
    ASSERT_TRUE(files->PutChunk(all[0], Chunk(0, 1000)).ok());
  }
  auto db = Database::Open(dir.File("a.db"));
  ASSERT_TRUE(db.ok());
  auto files = FileStore::Open(**db);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  auto holding = files->Check(all);
  ASSERT_TRUE(holding.ok());
  EXPECT_EQ(holding->held, 3u);
  EXPECT_EQ(holding->missing, (std::vector<codec::ChunkAddress>{all[1], all[3], all[5]}));
  auto got = files->GetChunk(all[2]);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, Chunk(2, 1002));
  auto none = files->GetChunk(all[1]);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_FALSE(*files->HasChunk(all[5]));
}

TEST(FileStore, ALargeChunkIsStoredWhole) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  auto files = FileStore::Open(**db);
  ASSERT_TRUE(files.ok());
  Bytes big(codec::kMaxChunkCiphertextBytes);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<uint8_t>(i * 7);
  auto address = codec::AddressOfChunk(big);
  ASSERT_TRUE(files->PutChunk(address, big).ok());
  auto got = files->GetChunk(address);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(codec::AddressOfChunk(**got), address);
}

TEST(FileStore, RemembersFilesNewestFirst) {
  auto db = Database::Open(":memory:");
  ASSERT_TRUE(db.ok());
  auto files = FileStore::Open(**db);
  ASSERT_TRUE(files.ok());
  StoredFile a;
  a.manifest = codec::AddressOfChunk(Chunk(1, 10));
  a.key = Bytes(32, 1);
  a.name = "a.txt";
  a.size = 10;
  a.chunks = 1;
  a.origin = "added";
  a.added_at_ms = 100;
  a.path = "/tmp/a.txt";
  StoredFile b = a;
  b.manifest = codec::AddressOfChunk(Chunk(2, 10));
  b.name = "b.txt";
  b.origin = "saved";
  b.added_at_ms = 200;
  ASSERT_TRUE(files->Remember(a).ok());
  ASSERT_TRUE(files->Remember(b).ok());
  auto list = files->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "b.txt");
  EXPECT_EQ((*list)[1].name, "a.txt");
  auto found = files->Find(a.manifest);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->key, a.key);
  EXPECT_EQ((*found)->path, "/tmp/a.txt");
  auto missing = files->Find(codec::AddressOfChunk(Chunk(3, 1)));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());
}

}  // namespace
}  // namespace topo::store
