#include "sync/riblt_frame.h"

#include <algorithm>
#include <string>

#include "codec/reader.h"

namespace topo::sync {
namespace {

// Symbols never reach past the largest sketch.
constexpr uint64_t kMaxSymbolIndex = kMaxSketchCapacity;
constexpr uint64_t kIdBytes = ItemId::kSize;
// Every symbol takes at least this much on the wire (index 0's count varint may be longer).
constexpr uint64_t kMinSymbolBytes = kEncodedSymbolSize;

void PutU32Le(codec::Writer& w, uint64_t v) {
  for (int i = 0; i < 4; ++i) w.U8(static_cast<uint8_t>(v >> (8 * i)));
}

Status GetU32Le(codec::Reader& r, std::string_view field, uint64_t& v) {
  ByteView b;
  TOPO_RETURN_IF_ERROR(r.Raw(field, 4, b));
  v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | b[i];
  return Status::Ok();
}

Status Bad(std::string_view field, std::string_view why) {
  return Status::Corruption(std::string(field) + ": " + std::string(why));
}

void PutIds(codec::Writer& w, const std::vector<ItemId>& ids) {
  w.Varint(ids.size());
  for (const ItemId& id : ids) w.Fixed(id);
}

Status GetIds(codec::Reader& r, std::string_view field, std::vector<ItemId>& ids) {
  uint64_t n;
  TOPO_RETURN_IF_ERROR(r.VarintMax(field, kMaxSketchCapacity, n));
  if (n > r.remaining() / kIdBytes) return Bad(field, "truncated");
  ids.resize(n);
  for (ItemId& id : ids) TOPO_RETURN_IF_ERROR(r.Fixed(field, id));
  for (size_t i = 1; i < ids.size(); ++i)
    if (!(ids[i - 1] < ids[i])) return Bad(field, "not sorted or has duplicates");
  return Status::Ok();
}

struct Encoder {
  codec::Writer& w;
  void operator()(const SymbolsFrame& f) {
    w.U8(static_cast<uint8_t>(RibltFrameType::kSymbols));
    w.Varint(f.start);
    w.Varint(f.symbols.size());
    w.U8(f.last ? 1 : 0);
    uint64_t index = f.start;
    for (const CodedSymbol& s : f.symbols) {
      w.Fixed(s.id_xor);
      PutU32Le(w, s.checksum_xor);
      if (index++ == 0)
        w.SVarint(s.count);
      else
        w.U8(static_cast<uint8_t>(s.count));
    }
    w.LenBytes(f.count_residues);
  }
  void operator()(const MoreFrame& f) {
    w.U8(static_cast<uint8_t>(RibltFrameType::kMore));
    w.Varint(f.start);
    w.Varint(f.count);
  }
  void operator()(const DoneFrame& f) {
    w.U8(static_cast<uint8_t>(RibltFrameType::kDone));
    w.Varint(f.initiator_only_count);
    PutIds(w, f.responder_only);
  }
  void operator()(const FallbackFrame& f) {
    w.U8(static_cast<uint8_t>(RibltFrameType::kFallback));
    w.U8(static_cast<uint8_t>(f.reason));
  }
};

Result<RibltFrame> DecodeSymbols(codec::Reader& r) {
  SymbolsFrame f;
  uint64_t n;
  uint8_t flags;
  TOPO_RETURN_IF_ERROR(r.VarintMax("riblt.symbols.start", kMaxSymbolIndex, f.start));
  TOPO_RETURN_IF_ERROR(r.VarintMax("riblt.symbols.count", kMaxSymbolsPerFrame, n));
  TOPO_RETURN_IF_ERROR(r.U8("riblt.symbols.flags", flags));
  if (flags > 1) return Bad("riblt.symbols.flags", "unknown flag bits");
  f.last = flags == 1;
  if (n == 0 && !f.last) return Bad("riblt.symbols.count", "zero symbols in a frame not last");
  if (n > kMaxSymbolIndex - f.start) return Bad("riblt.symbols.count", "past the largest index");
  if (n > r.remaining() / kMinSymbolBytes) return Bad("riblt.symbols", "truncated");
  f.symbols.resize(n);
  uint64_t index = f.start;
  for (CodedSymbol& s : f.symbols) {
    TOPO_RETURN_IF_ERROR(r.Fixed("riblt.symbols.id_xor", s.id_xor));
    TOPO_RETURN_IF_ERROR(GetU32Le(r, "riblt.symbols.checksum_xor", s.checksum_xor));
    if (index++ == 0) {
      TOPO_RETURN_IF_ERROR(r.SVarint("riblt.symbols.count_field", s.count));
    } else {
      uint8_t low;
      TOPO_RETURN_IF_ERROR(r.U8("riblt.symbols.count_field", low));
      s.count = low;
    }
  }
  ByteView residues;
  TOPO_RETURN_IF_ERROR(r.LenBytes("riblt.symbols.count_residues", kMaxSymbolsPerFrame, residues));
  if (residues.size() > kMaxSymbolIndex - f.start - n)
    return Bad("riblt.symbols.count_residues", "past the largest index");
  f.count_residues.assign(residues.begin(), residues.end());
  return RibltFrame(std::move(f));
}

}  // namespace

const char* FallbackReasonName(FallbackReason reason) {
  switch (reason) {
    case FallbackReason::kDifferenceTooLarge:
      return "difference too large";
    case FallbackReason::kSketchExhausted:
      return "sketch exhausted";
    case FallbackReason::kNoProgress:
      return "no progress";
    case FallbackReason::kInconsistent:
      return "symbols inconsistent";
  }
  return "unknown";
}

Bytes EncodeRibltFrame(const RibltFrame& frame) {
  codec::Writer w;
  std::visit(Encoder{w}, frame);
  return w.Take();
}

Result<RibltFrame> DecodeRibltFrame(ByteView bytes) {
  codec::Reader r(bytes);
  uint8_t type;
  TOPO_RETURN_IF_ERROR(r.U8("riblt.type", type));
  RibltFrame out;
  switch (type) {
    case static_cast<uint8_t>(RibltFrameType::kSymbols): {
      TOPO_ASSIGN_OR_RETURN(out, DecodeSymbols(r));
      break;
    }
    case static_cast<uint8_t>(RibltFrameType::kMore): {
      MoreFrame f;
      TOPO_RETURN_IF_ERROR(r.VarintMax("riblt.more.start", kMaxSymbolIndex, f.start));
      TOPO_RETURN_IF_ERROR(r.VarintMax("riblt.more.count", kMaxSymbolsPerFrame, f.count));
      if (f.count == 0) return Bad("riblt.more.count", "zero");
      out = f;
      break;
    }
    case static_cast<uint8_t>(RibltFrameType::kDone): {
      DoneFrame f;
      TOPO_RETURN_IF_ERROR(r.VarintMax("riblt.done.initiator_only_count", kMaxSketchCapacity,
                                       f.initiator_only_count));
      TOPO_RETURN_IF_ERROR(GetIds(r, "riblt.done.responder_only", f.responder_only));
      out = std::move(f);
      break;
    }
    case static_cast<uint8_t>(RibltFrameType::kFallback): {
      uint8_t reason;
      TOPO_RETURN_IF_ERROR(r.U8("riblt.fallback.reason", reason));
      if (reason < 1 || reason > 4) return Bad("riblt.fallback.reason", "unknown reason");
      out = FallbackFrame{static_cast<FallbackReason>(reason)};
      break;
    }
    default:
      return Bad("riblt.type", "unknown frame type " + std::to_string(type));
  }
  TOPO_RETURN_IF_ERROR(r.ExpectEnd("riblt frame"));
  return out;
}

}  // namespace topo::sync
