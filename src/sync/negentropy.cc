#include "sync/negentropy.h"

#include <algorithm>
#include <cstdio>
#include <string>
#include <unordered_set>

#include "sync/negentropy_varint.h"

namespace topo::sync {
namespace {

constexpr size_t kIdSize = ItemId::kSize;
constexpr size_t kFingerprintSize = Fingerprint::kSize;
// A range of fewer items than this is sent as an IdList; a larger one is split into
// kBuckets Fingerprint ranges of (nearly) equal counts.
constexpr uint64_t kBuckets = 16;
constexpr uint64_t kIdListBelow = 2 * kBuckets;
// Room kept under a frame-size limit for the closing Fingerprint range (as the reference).
constexpr uint64_t kFrameSlack = 200;

// An upper bound: the item whose first id_len id bytes are given and whose other id bytes
// are zero. Infinity is (2^64-1, no id bytes).
struct Bound {
  Item item;
  size_t id_len = 0;
};

Bound InfinityBound() {
  Bound b;
  b.item.timestamp = kInfinityTimestamp;
  return b;
}

Bound WholeItemBound(const Item& item) { return Bound{item, kIdSize}; }

// The shortest bound above `prev` and at or below `curr` (prev < curr).
Bound MinimalBound(const Item& prev, const Item& curr) {
  Bound b;
  b.item.timestamp = curr.timestamp;
  if (curr.timestamp != prev.timestamp) return b;
  size_t shared = 0;
  while (shared < kIdSize && curr.id.bytes[shared] == prev.id.bytes[shared]) ++shared;
  b.id_len = std::min(shared + 1, kIdSize);
  std::copy_n(curr.id.bytes.begin(), b.id_len, b.item.id.bytes.begin());
  return b;
}

std::string Hex2(uint64_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", static_cast<unsigned>(v & 0xff));
  return buf;
}

// Writes bounds with the per-message timestamp delta state.
class BoundEncoder {
 public:
  void Put(Bytes& out, const Bound& b) {
    if (b.item.timestamp == kInfinityTimestamp) {
      last_timestamp_ = kInfinityTimestamp;
      PutNegVarint(out, 0);
    } else {
      PutNegVarint(out, b.item.timestamp - last_timestamp_ + 1);
      last_timestamp_ = b.item.timestamp;
    }
    PutNegVarint(out, b.id_len);
    out.insert(out.end(), b.item.id.bytes.begin(), b.item.id.bytes.begin() + b.id_len);
  }

 private:
  uint64_t last_timestamp_ = 0;
};

struct ReceivedRange {
  NegentropyMode mode = NegentropyMode::kSkip;
  Fingerprint fingerprint;  // kFingerprint
  std::vector<ItemId> ids;  // kIdList
};

// Reads one message after its version byte.
class MessageDecoder {
 public:
  explicit MessageDecoder(ByteView in) : in_(in), pos_(1) {}

  bool AtEnd() const { return pos_ == in_.size(); }
  size_t Remaining() const { return in_.size() - pos_; }

  Status Varint(uint64_t& v) { return GetNegVarint(in_, pos_, v); }

  Status Raw(size_t n, uint8_t* out, const char* what) {
    if (Remaining() < n)
      return Status::Corruption(std::string("negentropy: message ends inside ") + what);
    std::copy_n(in_.begin() + pos_, n, out);
    pos_ += n;
    return Status::Ok();
  }

  Status GetBound(Bound& b) {
    uint64_t encoded;
    TOPO_RETURN_IF_ERROR(Varint(encoded));
    if (encoded == 0) {
      b.item.timestamp = kInfinityTimestamp;
    } else {
      const uint64_t delta = encoded - 1;
      if (delta >= kInfinityTimestamp - last_timestamp_)
        return Status::Corruption(
            "negentropy: bound timestamp reaches 2^64-1 (only the encoded "
            "value 0 means infinity)");
      b.item.timestamp = last_timestamp_ + delta;
    }
    last_timestamp_ = b.item.timestamp;
    uint64_t len;
    TOPO_RETURN_IF_ERROR(Varint(len));
    if (len > kIdSize)
      return Status::Corruption("negentropy: bound id prefix of " + std::to_string(len) +
                                " bytes (at most 32)");
    if (b.item.timestamp == kInfinityTimestamp && len != 0)
      return Status::Corruption("negentropy: infinity bound with an id prefix");
    b.item.id = ItemId{};
    b.id_len = len;
    return Raw(len, b.item.id.data(), "a bound");
  }

  // Reads one whole range: bound, mode and payload.
  Status GetRange(Bound& bound, ReceivedRange& range) {
    TOPO_RETURN_IF_ERROR(GetBound(bound));
    uint64_t mode;
    TOPO_RETURN_IF_ERROR(Varint(mode));
    switch (mode) {
      case static_cast<uint64_t>(NegentropyMode::kSkip):
        range.mode = NegentropyMode::kSkip;
        return Status::Ok();
      case static_cast<uint64_t>(NegentropyMode::kFingerprint):
        range.mode = NegentropyMode::kFingerprint;
        return Raw(kFingerprintSize, range.fingerprint.data(), "a fingerprint");
      case static_cast<uint64_t>(NegentropyMode::kIdList): {
        range.mode = NegentropyMode::kIdList;
        uint64_t count;
        TOPO_RETURN_IF_ERROR(Varint(count));
        if (count > Remaining() / kIdSize)
          return Status::Corruption("negentropy: id list of " + std::to_string(count) +
                                    " ids is longer than the message");
        range.ids.resize(count);
        for (ItemId& id : range.ids) TOPO_RETURN_IF_ERROR(Raw(kIdSize, id.data(), "an id"));
        return Status::Ok();
      }
      default:
        return Status::Corruption("negentropy: unknown range mode " + std::to_string(mode));
    }
  }

 private:
  ByteView in_;
  size_t pos_;
  uint64_t last_timestamp_ = 0;
};

}  // namespace

Result<Negentropy> Negentropy::Create(const RangeStorage& storage, uint64_t frame_size_limit) {
  if (frame_size_limit != 0 && frame_size_limit < kMinFrameSizeLimit)
    return Status::InvalidArgument("negentropy: frame size limit " +
                                   std::to_string(frame_size_limit) + " is below " +
                                   std::to_string(kMinFrameSizeLimit));
  return Negentropy(storage, frame_size_limit);
}

namespace {

// One Initiate or Reconcile call: the storage, the limit and the encoder state.
class MessageBuilder {
 public:
  MessageBuilder(const RangeStorage& storage, uint64_t frame_size_limit)
      : storage_(storage), limit_(frame_size_limit) {}

  BoundEncoder& encoder() { return encoder_; }

  bool Exceeds(size_t n) const { return limit_ != 0 && n > limit_ - kFrameSlack; }

  // Describes items [lower, upper) that end at upper_bound: their ids when few, else
  // kBuckets fingerprints of equal parts.
  void SplitRange(Bytes& out, uint64_t lower, uint64_t upper, const Bound& upper_bound) {
    const uint64_t count = upper - lower;
    if (count < kIdListBelow) {
      encoder_.Put(out, upper_bound);
      PutNegVarint(out, static_cast<uint64_t>(NegentropyMode::kIdList));
      PutNegVarint(out, count);
      storage_.Visit(lower, upper, [&](const Item& item) {
        Append(out, item.id.view());
        return true;
      });
      return;
    }
    const uint64_t per_bucket = count / kBuckets;
    const uint64_t with_extra = count % kBuckets;
    uint64_t curr = lower;
    for (uint64_t i = 0; i < kBuckets; ++i) {
      const uint64_t size = per_bucket + (i < with_extra ? 1 : 0);
      const Fingerprint fp = storage_.RangeFingerprint(curr, curr + size);
      curr += size;
      Bound next = upper_bound;
      if (curr != upper) {
        Item prev, first;
        uint64_t k = 0;
        storage_.Visit(curr - 1, curr + 1, [&](const Item& item) {
          (k++ == 0 ? prev : first) = item;
          return true;
        });
        next = MinimalBound(prev, first);
      }
      encoder_.Put(out, next);
      PutNegVarint(out, static_cast<uint64_t>(NegentropyMode::kFingerprint));
      Append(out, fp.view());
    }
  }

 private:
  const RangeStorage& storage_;
  uint64_t limit_;
  BoundEncoder encoder_;
};

}  // namespace

Bytes Negentropy::Initiate() {
  initiator_ = true;
  Bytes out{kNegentropyVersion1};
  MessageBuilder builder(*storage_, frame_size_limit_);
  builder.SplitRange(out, 0, storage_->Size(), InfinityBound());
  return out;
}

Result<ReconcileStep> Negentropy::Reconcile(ByteView message) {
  ReconcileStep step;
  if (message.empty()) return Status::Corruption("negentropy: empty message (no version byte)");
  const uint8_t version = message[0];
  if (version < kNegentropyVersionMin || version > kNegentropyVersionMax)
    return Status::Corruption("negentropy: version byte " + Hex2(version) +
                              " is not a negentropy protocol version");
  if (version != kNegentropyVersion1) {
    if (initiator_)
      return Status::Rejected("negentropy: the peer speaks protocol version " +
                              std::to_string(version - kNegentropyVersionMin) +
                              "; only version 1 is spoken here");
    step.reply = Bytes{kNegentropyVersion1};
    return step;
  }

  const RangeStorage& storage = *storage_;
  const uint64_t size = storage.Size();
  MessageBuilder builder(storage, frame_size_limit_);
  MessageDecoder in(message);
  Bytes full{kNegentropyVersion1};
  Bound prev_bound;
  uint64_t prev_index = 0;
  // The index where the range after the last bound written to `full` starts.
  uint64_t written_index = 0;
  bool skip = false;  // a Skip range up to prev_bound is owed before the next range written
  // Once the frame-size limit is reached the rest of the message is only checked, so a
  // malformed tail is refused all the same.
  bool out_of_room = false;
  ReceivedRange range;

  while (!in.AtEnd()) {
    Bound curr_bound;
    TOPO_RETURN_IF_ERROR(in.GetRange(curr_bound, range));
    if (curr_bound.item < prev_bound.item)
      return Status::Corruption("negentropy: range bounds out of order");
    if (out_of_room) {
      prev_bound = curr_bound;
      continue;
    }

    Bytes o;
    auto flush_skip = [&] {
      if (!skip) return;
      skip = false;
      builder.encoder().Put(o, prev_bound);
      PutNegVarint(o, static_cast<uint64_t>(NegentropyMode::kSkip));
    };

    const uint64_t lower = prev_index;
    uint64_t upper = std::max(prev_index, storage.LowerBound(curr_bound.item));

    switch (range.mode) {
      case NegentropyMode::kSkip:
        skip = true;
        break;
      case NegentropyMode::kFingerprint:
        if (range.fingerprint != storage.RangeFingerprint(lower, upper)) {
          flush_skip();
          builder.SplitRange(o, lower, upper, curr_bound);
        } else {
          skip = true;
        }
        break;
      case NegentropyMode::kIdList:
        if (initiator_) {
          skip = true;
          std::unordered_set<ItemId, FixedBytesHash> unmatched(range.ids.begin(), range.ids.end());
          storage.Visit(lower, upper, [&](const Item& item) {
            if (unmatched.erase(item.id) == 0) step.have.push_back(item.id);
            return true;
          });
          for (const ItemId& id : range.ids)
            if (unmatched.erase(id) == 1) step.need.push_back(id);
        } else {
          flush_skip();
          Bytes ids;
          uint64_t sent = 0;
          Bound end_bound = curr_bound;
          uint64_t index = lower;
          storage.Visit(lower, upper, [&](const Item& item) {
            if (builder.Exceeds(full.size() + ids.size())) {
              end_bound = WholeItemBound(item);
              upper = index;  // the closing fingerprint starts here
              return false;
            }
            Append(ids, item.id.view());
            ++sent;
            ++index;
            return true;
          });
          builder.encoder().Put(o, end_bound);
          PutNegVarint(o, static_cast<uint64_t>(NegentropyMode::kIdList));
          PutNegVarint(o, sent);
          Append(o, ids);
          Append(full, o);
          o.clear();
          written_index = upper;
        }
        break;
    }

    if (builder.Exceeds(full.size() + o.size())) {
      // Out of room: one Fingerprint range from the last bound written up to infinity
      // stands for everything not yet answered, and the peer answers it next round.
      builder.encoder().Put(full, InfinityBound());
      PutNegVarint(full, static_cast<uint64_t>(NegentropyMode::kFingerprint));
      Append(full, storage.RangeFingerprint(written_index, size).view());
      out_of_room = true;
    } else if (!o.empty()) {
      Append(full, o);
      written_index = upper;
    }
    prev_index = upper;
    prev_bound = curr_bound;
  }

  if (!initiator_ || full.size() > 1) step.reply = std::move(full);
  return step;
}

}  // namespace topo::sync
