#include "net/message_stream.h"

#include <algorithm>
#include <string>

namespace topo::net {

void AppendFrame(ByteView message, Bytes& out) {
  size_t at = out.size();
  uint32_t n = static_cast<uint32_t>(message.size());
  out.resize(at + kFrameHeaderBytes + message.size());
  out[at] = static_cast<uint8_t>(n >> 24);
  out[at + 1] = static_cast<uint8_t>(n >> 16);
  out[at + 2] = static_cast<uint8_t>(n >> 8);
  out[at + 3] = static_cast<uint8_t>(n);
  if (!message.empty()) std::copy(message.begin(), message.end(), out.begin() + at + 4);
}

Status MessageReader::Feed(ByteView data, std::vector<Bytes>& out) {
  if (failed_) return Status::Rejected("stream already failed");
  while (!data.empty()) {
    if (header_len_ < kFrameHeaderBytes) {
      size_t take = std::min(kFrameHeaderBytes - header_len_, data.size());
      std::copy(data.begin(), data.begin() + take, header_ + header_len_);
      header_len_ += take;
      data = data.subspan(take);
      if (header_len_ < kFrameHeaderBytes) break;
      body_len_ = (size_t{header_[0]} << 24) | (size_t{header_[1]} << 16) |
                  (size_t{header_[2]} << 8) | size_t{header_[3]};
      if (body_len_ > max_) {
        Status refused = Status::Rejected("a message of " + std::to_string(body_len_) +
                                          " bytes exceeds the limit of " + std::to_string(max_));
        failed_ = true;
        Reset();
        return refused;
      }
    }
    // Grows with what arrives, never by the announced length: a peer that announces big
    // messages and sends nothing costs nothing.
    size_t take = std::min(body_len_ - body_.size(), data.size());
    body_.insert(body_.end(), data.begin(), data.begin() + take);
    data = data.subspan(take);
    if (body_.size() == body_len_) {
      out.push_back(std::move(body_));
      body_ = Bytes();
      header_len_ = 0;
      body_len_ = 0;
    }
  }
  return Status::Ok();
}

size_t MessageReader::pending_bytes() const { return header_len_ + body_.size(); }

void MessageReader::Reset() {
  header_len_ = 0;
  body_len_ = 0;
  Bytes().swap(body_);
}

void SendBuffer::Push(ByteView message) {
  Bytes frame;
  AppendFrame(message, frame);
  unacked_ += frame.size();
  frames_.push_back(std::move(frame));
}

ByteView SendBuffer::Unsent() const {
  if (next_ >= frames_.size()) return {};
  const Bytes& f = frames_[next_];
  return ByteView(f).subspan(sent_in_next_);
}

bool SendBuffer::Consume(size_t n) {
  if (next_ >= frames_.size()) return false;
  size_t left = frames_[next_].size() - sent_in_next_;
  n = std::min(n, left);
  sent_in_next_ += n;
  sent_unacked_ += n;
  if (sent_in_next_ < frames_[next_].size()) return false;
  ++next_;
  sent_in_next_ = 0;
  return true;
}

size_t SendBuffer::Ack(uint64_t n) {
  n = std::min<uint64_t>(n, sent_unacked_);
  size_t released = static_cast<size_t>(n);
  sent_unacked_ -= n;
  unacked_ -= n;
  while (n > 0) {
    size_t left = frames_.front().size() - acked_in_front_;
    size_t take = static_cast<size_t>(std::min<uint64_t>(n, left));
    acked_in_front_ += take;
    n -= take;
    if (acked_in_front_ == frames_.front().size()) {
      frames_.pop_front();
      acked_in_front_ = 0;
      --next_;  // a fully acknowledged frame was fully handed out, so next_ > 0
    }
  }
  return released;
}

void SendBuffer::Clear() {
  frames_.clear();
  acked_in_front_ = next_ = sent_in_next_ = 0;
  sent_unacked_ = unacked_ = 0;
}

}  // namespace topo::net
