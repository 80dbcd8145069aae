// Private channels and direct conversations: each lives in a group of its own (its members
// and key epochs, apps/chat/chat.h). A workspace member who is not in it reads nothing,
// even holding every sealed vertex; an invited one reads it from the first message (the
// group shows history); a removed one reads nothing written after, and cannot write.
#include <gtest/gtest.h>

#include "chat_fixture.h"
#include "util/encoding.h"

namespace topo::apps::chat {
namespace {

// Rows of the channel's messages on `r` whose text is `text`.
int64_t RowsWithText(object::Replica& r, const codec::ObjectId& channel, const std::string& text) {
  auto& st = r.database().Prepare(
      "SELECT COUNT(*) FROM proj_chat_messages WHERE channel = ?1 AND text = ?2");
  st.Bind(1, channel);
  st.Bind(2, text);
  auto row = st.Step();
  EXPECT_TRUE(row.ok() && *row);
  int64_t n = st.Int64(0);
  st.Reset();
  return n;
}

// Vertices of `object` that `r` holds (sealed or not).
size_t Held(object::Replica& r, const codec::ObjectId& object) {
  size_t n = 0;
  EXPECT_TRUE(r.ForEachInOrder(object, [&](const graph::VertexMeta&, ByteView) {
                 ++n;
                 return true;
               }).ok());
  return n;
}

class ChatPrivate : public ChatTeam {
 protected:
  codec::VertexId Post(Device& d, const codec::ObjectId& channel, const std::string& text) {
    auto v = d.chat().Write(channel, chat::Post{text, std::nullopt, {}, {}});
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : codec::VertexId{};
  }
  Channel Find(Device& d, const codec::ObjectId& channel) {
    auto c = d.chat().ChannelById(channel);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : Channel{};
  }
};

TEST_F(ChatPrivate, OnlyItsMembersReadAPrivateChannelAndARemovalRotatesItsKey) {
  auto made = alice.chat().CreatePrivate(group, ChannelKind::kPrivate, "plans", "the launch",
                                         {bob.user.public_key()}, alice.cert);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const codec::ObjectId plans = *made;
  Post(alice, plans, "we launch on friday");
  Everyone();

  // bob, added at creation, reads it.
  auto seen = bob.chat().FindChannel(group, "plans");
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  EXPECT_EQ(seen->kind, ChannelKind::kPrivate);
  EXPECT_EQ(seen->topic, "the launch");
  EXPECT_EQ(seen->members.size(), 2u);
  EXPECT_EQ(RowsWithText(*bob, plans, "we launch on friday"), 1);

  // carol, an admin of the workspace but not in the channel, holds its sealed vertices and
  // reads nothing: not its name, not its messages, not in search.
  EXPECT_GT(Held(*carol, plans), 2u);
  EXPECT_EQ(carol.chat().FindChannel(group, "plans").status().code(), Code::kNotFound);
  EXPECT_EQ(RowsWithText(*carol, plans, "we launch on friday"), 0);
  SearchQuery q;
  q.text = "friday";
  auto found = carol.chat().Search(group, q);
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->empty());
  // She cannot write into it either, nor invite herself.
  EXPECT_FALSE(carol.chat().Write(plans, chat::Post{"let me in", std::nullopt, {}, {}}).ok());
  EXPECT_EQ(carol.chat().Invite(Find(alice, plans), carol.user.public_key()).status().code(),
            Code::kPermissionDenied);
  // A member who is not its owner or an admin invites no one.
  EXPECT_EQ(bob.chat().Invite(Find(bob, plans), carol.user.public_key()).status().code(),
            Code::kPermissionDenied);

  // Invited, carol reads it from the first message on.
  ASSERT_TRUE(alice.chat().Invite(Find(alice, plans), carol.user.public_key()).ok());
  Everyone();
  EXPECT_EQ(RowsWithText(*carol, plans, "we launch on friday"), 1);
  EXPECT_TRUE(carol.chat().FindChannel(group, "plans").ok());

  // bob is removed: a new epoch, sealed to alice and carol only.
  auto before = alice->GroupStateOf(Find(alice, plans).group);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(alice.chat().Remove(Find(alice, plans), bob.user.public_key()).ok());
  auto after = alice->GroupStateOf(Find(alice, plans).group);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->current_epoch(), before->current_epoch()) << "the key rotated";
  Post(alice, plans, "bob is gone now");
  Everyone();
  EXPECT_EQ(RowsWithText(*carol, plans, "bob is gone now"), 1);
  EXPECT_EQ(RowsWithText(*bob, plans, "bob is gone now"), 0) << "nothing after his removal";
  EXPECT_EQ(RowsWithText(*bob, plans, "we launch on friday"), 1) << "he keeps what he read";
  // He is told why, not that there is no such channel.
  auto gone = bob.chat().FindChannel(group, "plans");
  EXPECT_EQ(gone.status().code(), Code::kPermissionDenied);
  EXPECT_NE(gone.status().message().find("you were removed from #plans"), std::string::npos)
      << gone.status().ToString();
  auto write = bob.chat().Write(plans, chat::Post{"still here?", std::nullopt, {}, {}});
  EXPECT_EQ(write.status().code(), Code::kPermissionDenied) << write.status().ToString();
  Everyone();
  EXPECT_EQ(Dump(*alice), Dump(*carol));
}

TEST_F(ChatPrivate, TheOwnerLeavingHandsTheChannelOn) {
  auto made = alice.chat().CreatePrivate(group, ChannelKind::kPrivate, "ops", "",
                                         {bob.user.public_key()}, alice.cert);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ASSERT_TRUE(alice.chat().LeavePrivate(Find(alice, *made)).ok());
  Everyone();
  auto st = bob->GroupStateOf(Find(bob, *made).group);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->RoleOf(bob.user.public_key()), codec::Role::kOwner);
  EXPECT_FALSE(st->RoleOf(alice.user.public_key()).has_value());
  EXPECT_EQ(alice.chat().FindChannel(group, "ops").status().code(), Code::kPermissionDenied);
  // The last member stays.
  EXPECT_EQ(bob.chat().LeavePrivate(Find(bob, *made)).status().code(), Code::kInvalidArgument);
}

TEST_F(ChatPrivate, ADirectConversationIsFoundByItsMembersAndKeepsThem) {
  auto made = alice.chat().CreatePrivate(group, ChannelKind::kDirect, "dm-alice-bob", "",
                                         {bob.user.public_key()}, alice.cert);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  Post(alice, *made, "just between us");
  Everyone();
  auto from_bob = bob.chat().FindDirect(group, {alice.user.public_key()});
  ASSERT_TRUE(from_bob.ok());
  ASSERT_TRUE(from_bob->has_value());
  EXPECT_EQ((*from_bob)->id, *made);
  EXPECT_EQ(RowsWithText(*bob, *made, "just between us"), 1);
  // Another member set is another conversation; carol is in none of them.
  auto three = alice.chat().FindDirect(group, {bob.user.public_key(), carol.user.public_key()});
  ASSERT_TRUE(three.ok());
  EXPECT_FALSE(three->has_value());
  auto from_carol = carol.chat().FindDirect(group, {alice.user.public_key(), bob.user.public_key()});
  ASSERT_TRUE(from_carol.ok());
  EXPECT_FALSE(from_carol->has_value());
  EXPECT_EQ(RowsWithText(*carol, *made, "just between us"), 0);
  EXPECT_EQ(alice.chat().Invite(Find(alice, *made), carol.user.public_key()).status().code(),
            Code::kInvalidArgument);
}

TEST_F(ChatPrivate, ChannelParamsAreStrict) {
  ChannelParams p{ChannelKind::kDirect, group};
  Bytes enc = EncodeChannelParams(p);
  auto dec = DecodeChannelParams(enc);
  ASSERT_TRUE(dec.ok());
  EXPECT_EQ(*dec, p);
  Bytes bad_kind = enc;
  bad_kind[1] = 0;  // public channels have no params
  EXPECT_FALSE(DecodeChannelParams(bad_kind).ok());
  Bytes bad_version = enc;
  bad_version[0] = 2;
  EXPECT_FALSE(DecodeChannelParams(bad_version).ok());
  enc.push_back(0);
  EXPECT_FALSE(DecodeChannelParams(enc).ok());
  // A channel whose params do not decode is rejected by every replica.
  auto bad = alice->CreateObject(kChannelBlueprint, group, bad_kind);
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace topo::apps::chat
