// The chat's entry encoding (apps/chat/entry.h): round trips and the strict decoder.
#include <gtest/gtest.h>

#include "apps/chat/entry.h"

namespace topo::apps::chat {
namespace {

codec::VertexId Id(uint8_t b) {
  codec::VertexId id;
  for (size_t i = 0; i < 32; ++i) id.data()[i] = static_cast<uint8_t>(b + i);
  return id;
}

TEST(ChatEntry, EveryKindRoundTrips) {
  Post post{"hello @bob", Id(1), {{MentionKind::kUser, Id(2)}, {MentionKind::kChannel, Id(3)}},
            {{"topo-file:abc", "plan.pdf", 1234}}};
  std::vector<Entry> all = {post,
                            Post{"plain", std::nullopt, {}, {}},
                            Edit{Id(4), "fixed"},
                            Delete{Id(5)},
                            React{Id(6), "👍", true},
                            React{Id(6), "👍", false},
                            Meta{MetaAttr::kName, "design-team"},
                            Meta{MetaAttr::kTopic, ""},
                            Meta{MetaAttr::kArchived, "1"},
                            Member{Id(7), false}};
  for (const auto& e : all) {
    ASSERT_TRUE(CheckEntry(e).ok()) << CheckEntry(e).ToString();
    Bytes b = EncodeEntry(e);
    auto back = DecodeEntry(b);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, e);
    EXPECT_EQ(EncodeEntry(*back), b);
  }
}

TEST(ChatEntry, CheckRefusesWhatWouldNotDecode) {
  EXPECT_FALSE(CheckEntry(Post{"", std::nullopt, {}, {}}).ok());
  EXPECT_FALSE(CheckEntry(Post{std::string(kMaxText + 1, 'a'), std::nullopt, {}, {}}).ok());
  EXPECT_TRUE(CheckEntry(Post{std::string(kMaxText, 'a'), std::nullopt, {}, {}}).ok());
  EXPECT_FALSE(CheckEntry(Post{"\xff\xfe", std::nullopt, {}, {}}).ok());
  EXPECT_FALSE(CheckEntry(Edit{Id(1), ""}).ok());
  EXPECT_FALSE(CheckEntry(React{Id(1), "", true}).ok());
  EXPECT_FALSE(CheckEntry(React{Id(1), std::string(kMaxEmoji + 1, 'x'), true}).ok());
  EXPECT_FALSE(CheckEntry(Meta{MetaAttr::kName, "Design"}).ok());
  EXPECT_FALSE(CheckEntry(Meta{MetaAttr::kName, "a b"}).ok());
  EXPECT_FALSE(CheckEntry(Meta{MetaAttr::kName, ""}).ok());
  EXPECT_FALSE(CheckEntry(Meta{MetaAttr::kArchived, "yes"}).ok());
  EXPECT_FALSE(CheckEntry(Meta{MetaAttr::kTopic, std::string(kMaxTopic + 1, 't')}).ok());
  Post many{"x", std::nullopt, {}, {}};
  many.mentions.resize(kMaxMentions + 1);
  EXPECT_FALSE(CheckEntry(many).ok());
  Post files{"x", std::nullopt, {}, {}};
  files.files.push_back({"", "name", 1});
  EXPECT_FALSE(CheckEntry(files).ok());
}

TEST(ChatEntry, TheDecoderIsStrict) {
  Bytes good = EncodeEntry(Edit{Id(1), "text"});
  ASSERT_TRUE(DecodeEntry(good).ok());
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(DecodeEntry(trailing).status().code(), Code::kCorruption);
  for (size_t n = 0; n < good.size(); ++n)
    EXPECT_FALSE(DecodeEntry(ByteView(good).subspan(0, n)).ok()) << "prefix of " << n;
  Bytes unknown = good;
  unknown[0] = 99;
  EXPECT_FALSE(DecodeEntry(unknown).ok());
  Bytes flag = EncodeEntry(React{Id(1), "x", true});
  flag.back() = 2;  // on must be 0 or 1
  EXPECT_FALSE(DecodeEntry(flag).ok());
  Bytes name = EncodeEntry(Meta{MetaAttr::kName, "ok"});
  name.back() = 'O';  // uppercase is not a channel name
  EXPECT_FALSE(DecodeEntry(name).ok());
  Bytes attr = EncodeEntry(Meta{MetaAttr::kTopic, "t"});
  attr[1] = 9;
  EXPECT_FALSE(DecodeEntry(attr).ok());
  EXPECT_FALSE(DecodeEntry(Bytes{}).ok());
}

}  // namespace
}  // namespace topo::apps::chat
