#include "net/message_stream.h"

#include <gtest/gtest.h>

#include <random>

namespace topo::net {
namespace {

Bytes Frames(const std::vector<Bytes>& messages) {
  Bytes out;
  for (const Bytes& m : messages) AppendFrame(m, out);
  return out;
}

TEST(MessageFraming, IsABigEndianLengthThenTheBytes) {
  Bytes out;
  AppendFrame(ToBytes("abc"), out);
  AppendFrame(Bytes(), out);
  Bytes expected(4, 0);
  expected[3] = 3;
  Append(expected, ToBytes("abc"));
  expected.resize(expected.size() + 4, 0);
  EXPECT_EQ(out, expected);
  Bytes big;
  AppendFrame(Bytes(0x010203, 7), big);
  EXPECT_EQ(big[0], 0x00);
  EXPECT_EQ(big[1], 0x01);
  EXPECT_EQ(big[2], 0x02);
  EXPECT_EQ(big[3], 0x03);
}

TEST(MessageReader, ReassemblesMessagesSplitAnywhere) {
  std::vector<Bytes> messages;
  messages.push_back(ToBytes("hello"));
  messages.push_back(Bytes());
  messages.push_back(Bytes(1000, 0xab));
  messages.push_back(ToBytes("x"));
  Bytes stream = Frames(messages);
  for (size_t chunk = 1; chunk <= 17; ++chunk) {
    MessageReader r(1000);
    std::vector<Bytes> out;
    for (size_t at = 0; at < stream.size(); at += chunk) {
      size_t n = std::min(chunk, stream.size() - at);
      ASSERT_TRUE(r.Feed(ByteView(stream).subspan(at, n), out).ok());
    }
    EXPECT_EQ(out, messages) << "chunk " << chunk;
    EXPECT_EQ(r.pending_bytes(), 0u);
  }
  std::mt19937 rng(5);
  MessageReader r(1000);
  std::vector<Bytes> out;
  for (size_t at = 0; at < stream.size();) {
    size_t n = std::min<size_t>(rng() % 40, stream.size() - at);
    ASSERT_TRUE(r.Feed(ByteView(stream).subspan(at, n), out).ok());
    at += n;
  }
  EXPECT_EQ(out, messages);
}

TEST(MessageReader, AnOversizedLengthFailsBeforeAnyOfTheBodyIsKept) {
  MessageReader r(100);
  std::vector<Bytes> out;
  Bytes stream = Frames({Bytes(100, 1)});
  AppendFrame(Bytes(101, 2), stream);
  // Everything up to and including the bad length, and none of its body.
  size_t upto = 4 + 100 + 4;
  EXPECT_TRUE(r.Feed(ByteView(stream).subspan(0, upto - 1), out).ok());
  EXPECT_EQ(r.pending_bytes(), 3u);
  Status st = r.Feed(ByteView(stream).subspan(upto - 1, 1), out);
  EXPECT_EQ(st.code(), Code::kRejected);
  EXPECT_NE(st.message().find("101 bytes exceeds the limit of 100"), std::string::npos)
      << st.message();
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(r.pending_bytes(), 0u);
  EXPECT_FALSE(r.Feed(ToBytes("more"), out).ok());
}

TEST(MessageReader, HoldsOnlyWhatArrived) {
  MessageReader r(1 << 20);
  std::vector<Bytes> out;
  Bytes stream = Frames({Bytes(1 << 20, 9)});
  ASSERT_TRUE(r.Feed(ByteView(stream).subspan(0, 10), out).ok());
  EXPECT_EQ(r.pending_bytes(), 10u);
  r.Reset();
  EXPECT_EQ(r.pending_bytes(), 0u);
}

TEST(SendBuffer, HandsOutOneMessageAtATimeAndReleasesOnAck) {
  SendBuffer b;
  EXPECT_TRUE(b.Unsent().empty());
  b.Push(ToBytes("abcd"));  // 8 framed bytes
  b.Push(ToBytes("ef"));    // 6
  EXPECT_EQ(b.unacked_bytes(), 14u);
  ByteView first = b.Unsent();
  ASSERT_EQ(first.size(), 8u);
  EXPECT_EQ(first[3], 4);
  EXPECT_FALSE(b.Consume(5));
  EXPECT_EQ(b.Unsent().size(), 3u);
  EXPECT_TRUE(b.Consume(3));
  EXPECT_EQ(b.Unsent().size(), 6u);
  // Acknowledgements cover only what was handed out.
  EXPECT_EQ(b.Ack(100), 8u);
  EXPECT_EQ(b.unacked_bytes(), 6u);
  EXPECT_TRUE(b.Consume(6));
  EXPECT_TRUE(b.Unsent().empty());
  EXPECT_EQ(b.Ack(2), 2u);
  EXPECT_EQ(b.Ack(4), 4u);
  EXPECT_EQ(b.unacked_bytes(), 0u);
  b.Push(ToBytes("g"));
  EXPECT_EQ(b.Unsent().size(), 5u);
  b.Clear();
  EXPECT_EQ(b.unacked_bytes(), 0u);
  EXPECT_TRUE(b.Unsent().empty());
}

}  // namespace
}  // namespace topo::net
