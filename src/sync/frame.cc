#include "sync/frame.h"

#include "codec/reader.h"
#include "util/varint.h"

namespace topo::sync {
namespace {

// The types follow FrameBody's alternatives, from 1.
enum Type : uint8_t {
  kHello = 1,
  kReconcile = 2,
  kWant = 3,
  kVertices = 4,
  kError = 5,
  kReconciled = 6,
};

struct Encoder {
  codec::Writer& w;
  void operator()(const HelloFrame& f) {
    w.Varint(f.objects.size());
    for (const auto& o : f.objects) {
      w.Fixed(o.object);
      w.Varint(o.items);
    }
  }
  void operator()(const ReconcileFrame& f) { Reconcile(f.object, f.algorithm, f.payload); }
  void operator()(const ReconciledFrame& f) { Reconcile(f.object, f.algorithm, f.payload); }
  void Reconcile(const codec::ObjectId& object, Algorithm algorithm, const Bytes& payload) {
    w.Fixed(object);
    w.U8(static_cast<uint8_t>(algorithm));
    w.LenBytes(payload);
  }
  void operator()(const WantFrame& f) {
    w.Fixed(f.object);
    w.Varint(f.ids.size());
    for (const auto& id : f.ids) w.Fixed(id);
  }
  void operator()(const VerticesFrame& f) {
    w.U8(f.last ? 1 : 0);
    w.Varint(f.vertices.size());
    for (const auto& v : f.vertices) w.LenBytes(v);
  }
  void operator()(const ErrorFrame& f) {
    w.Varint(static_cast<uint64_t>(f.code));
    w.LenString(f.message);
  }
};

}  // namespace

const char* FrameName(const FrameBody& body) {
  static constexpr const char* kNames[] = {"hello",    "reconcile", "want",
                                           "vertices", "error",     "reconciled"};
  static_assert(std::size(kNames) == std::variant_size_v<FrameBody>);
  return kNames[body.index()];
}

Bytes EncodeFrame(const Frame& f) {
  codec::Writer w;
  w.U8(kFrameVersion);
  w.U8(static_cast<uint8_t>(f.body.index() + 1));  // the types follow the variant's order
  w.Varint(f.request_id);
  std::visit(Encoder{w}, f.body);
  return w.Take();
}

Result<Frame> DecodeFrame(ByteView bytes) {
  if (bytes.size() > kMaxFrameBytes)
    return Status::Corruption("frame: " + std::to_string(bytes.size()) + " bytes, over the " +
                              std::to_string(kMaxFrameBytes) + "-byte bound");
  codec::Reader r(bytes);
  uint8_t version, type;
  TOPO_RETURN_IF_ERROR(r.U8("frame.version", version));
  if (version != kFrameVersion)
    return Status::Corruption("frame.version: unsupported version " + std::to_string(version));
  TOPO_RETURN_IF_ERROR(r.U8("frame.type", type));
  Frame f;
  TOPO_RETURN_IF_ERROR(r.Varint("frame.request_id", f.request_id));
  switch (type) {
    case kHello: {
      HelloFrame h;
      uint64_t n;
      TOPO_RETURN_IF_ERROR(r.VarintMax("hello.count", kMaxHelloObjects, n));
      // Each entry takes at least 33 bytes: a count past what remains is refused before
      // anything is allocated for it.
      if (n > r.remaining() / 33)
        return Status::Corruption("hello.count: more than the frame holds");
      h.objects.resize(n);
      for (auto& o : h.objects) {
        TOPO_RETURN_IF_ERROR(r.Fixed("hello.object", o.object));
        TOPO_RETURN_IF_ERROR(r.VarintMax("hello.items", kMaxOfferItems, o.items));
      }
      for (size_t i = 1; i < h.objects.size(); ++i)
        if (!(h.objects[i - 1].object < h.objects[i].object))
          return Status::Corruption("hello: objects not sorted or duplicated");
      f.body = std::move(h);
      break;
    }
    case kReconcile:
    case kReconciled: {
      ReconcileFrame rf;
      TOPO_RETURN_IF_ERROR(r.Fixed("reconcile.object", rf.object));
      uint8_t algo;
      TOPO_RETURN_IF_ERROR(r.U8("reconcile.algorithm", algo));
      if (algo != static_cast<uint8_t>(Algorithm::kRiblt) &&
          algo != static_cast<uint8_t>(Algorithm::kNegentropy))
        return Status::Corruption("reconcile.algorithm: unknown algorithm " + std::to_string(algo));
      rf.algorithm = static_cast<Algorithm>(algo);
      ByteView payload;
      TOPO_RETURN_IF_ERROR(r.LenBytes("reconcile.payload", kMaxFrameBytes, payload));
      rf.payload.assign(payload.begin(), payload.end());
      if (type == kReconcile)
        f.body = std::move(rf);
      else
        f.body = ReconciledFrame{rf.object, rf.algorithm, std::move(rf.payload)};
      break;
    }
    case kWant: {
      WantFrame w;
      TOPO_RETURN_IF_ERROR(r.Fixed("want.object", w.object));
      uint64_t n;
      TOPO_RETURN_IF_ERROR(r.VarintMax("want.count", kMaxWantIds, n));
      if (n == 0) return Status::Corruption("want.count: wants nothing");
      if (n > r.remaining() / 32)
        return Status::Corruption("want.count: more than the frame holds");
      w.ids.resize(n);
      for (auto& id : w.ids) TOPO_RETURN_IF_ERROR(r.Fixed("want.id", id));
      f.body = std::move(w);
      break;
    }
    case kVertices: {
      VerticesFrame v;
      uint8_t last;
      TOPO_RETURN_IF_ERROR(r.U8("vertices.last", last));
      if (last > 1) return Status::Corruption("vertices.last: not 0 or 1");
      v.last = last == 1;
      uint64_t n;
      TOPO_RETURN_IF_ERROR(r.VarintMax("vertices.count", kMaxWantIds, n));
      if (n > r.remaining() / 2)
        return Status::Corruption("vertices.count: more than the frame holds");
      v.vertices.resize(n);
      for (auto& raw : v.vertices) {
        ByteView b;
        TOPO_RETURN_IF_ERROR(r.LenBytes("vertices.vertex", codec::kMaxVertexBytes, b));
        if (b.empty()) return Status::Corruption("vertices.vertex: empty");
        raw.assign(b.begin(), b.end());
      }
      f.body = std::move(v);
      break;
    }
    case kError: {
      ErrorFrame e;
      uint64_t code;
      TOPO_RETURN_IF_ERROR(r.VarintMax("error.code", static_cast<uint64_t>(Code::kInternal), code));
      e.code = static_cast<Code>(code);
      TOPO_RETURN_IF_ERROR(r.LenString("error.message", kMaxErrorBytes, e.message));
      f.body = std::move(e);
      break;
    }
    default:
      return Status::Corruption("frame.type: unknown frame type " + std::to_string(type));
  }
  TOPO_RETURN_IF_ERROR(r.ExpectEnd("frame"));
  return f;
}

size_t VerticesFrameOverhead() { return 1 + 1 + 10 + 1 + 10; }

size_t VertexEntryBytes(size_t vertex_len) { return VarintLength(vertex_len) + vertex_len; }

}  // namespace topo::sync
