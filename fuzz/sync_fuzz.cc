// Fuzzes the sync decoders: the session frame (sync::DecodeFrame), the riblt frame
// (sync::DecodeRibltFrame) and a negentropy message fed to a responder and to an
// initiator. The first input byte picks the decoder. A frame that decodes must re-encode to
// exactly its bytes; a negentropy message must be answered or refused, never crash.
//
// TOPO_FUZZ_WRITE_SEEDS=<dir> writes a few valid inputs of each kind to <dir> and exits.
#include <algorithm>
#include <string>

#include "fuzz_support.h"
#include "sync/frame.h"
#include "sync/negentropy.h"
#include "sync/range_storage.h"
#include "sync/riblt.h"
#include "sync/riblt_frame.h"
#include "sync/riblt_session.h"

const char topo::fuzz::kTargetName[] = "sync_fuzz";

namespace topo {
namespace {

using fuzz::Fail;
using fuzz::WriteSeed;

const sync::SortedVectorStorage& Storage() {
  static const sync::SortedVectorStorage s = [] {
    sync::SortedVectorStorage st;
    for (uint8_t i = 0; i < 40; ++i) {
      sync::ItemId id;
      id.bytes.fill(i);
      (void)st.Insert(sync::Item{1000u + i / 3, id});
    }
    (void)st.Seal();
    return st;
  }();
  return s;
}

Bytes Tagged(uint8_t tag, const Bytes& b) {
  Bytes out{tag};
  Append(out, b);
  return out;
}

void WriteSeeds(const std::string& dir) {
  codec::ObjectId obj;
  obj.bytes.fill(3);
  WriteSeed(dir, "hello", Tagged(0, sync::EncodeFrame({0, sync::HelloFrame{{{obj, 7}}}})));
  WriteSeed(dir, "want", Tagged(0, sync::EncodeFrame({5, sync::WantFrame{obj, {obj}}})));
  WriteSeed(dir, "vertices",
            Tagged(0, sync::EncodeFrame({5, sync::VerticesFrame{true, {{1, 2}}}})));
  sync::RibltSketch sketch(64);
  sketch.Insert(obj);
  sync::SymbolsFrame symbols;
  symbols.symbols.assign(sketch.symbols().begin(), sketch.symbols().begin() + 4);
  WriteSeed(dir, "riblt_symbols", Tagged(1, sync::EncodeRibltFrame(symbols)));
  WriteSeed(dir, "riblt_done", Tagged(1, sync::EncodeRibltFrame(sync::DoneFrame{1, {obj}})));
  auto client = sync::Negentropy::Create(Storage());
  if (!client.ok()) Fail("negentropy seed session");
  WriteSeed(dir, "negentropy_initiate", Tagged(2, client->Initiate()));
}

}  // namespace
}  // namespace topo

TOPO_FUZZ_SEEDS(topo::WriteSeeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace topo;
  if (size == 0) return 0;
  ByteView in(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      auto f = sync::DecodeFrame(in);
      if (!f.ok()) return 0;
      Bytes again = sync::EncodeFrame(*f);
      if (!std::equal(again.begin(), again.end(), in.begin(), in.end()))
        Fail("EncodeFrame(DecodeFrame(x)) != x");
      (void)sync::FrameName(f->body);
      break;
    }
    case 1: {
      auto f = sync::DecodeRibltFrame(in);
      if (!f.ok()) return 0;
      Bytes again = sync::EncodeRibltFrame(*f);
      if (!std::equal(again.begin(), again.end(), in.begin(), in.end()))
        Fail("EncodeRibltFrame(DecodeRibltFrame(x)) != x");
      // A responder, and an initiator that has sent its first frame, take it without
      // crashing, whatever it says.
      sync::RibltSketch sketch(256);
      sync::RibltResponder responder(sketch);
      (void)responder.Receive(in);
      sync::RibltInitiator initiator(sketch);
      (void)initiator.Start();
      (void)initiator.Receive(in);
      break;
    }
    case 2: {
      auto server = sync::Negentropy::Create(Storage());
      if (!server.ok()) Fail("negentropy server");
      auto step = server->Reconcile(in);
      if (step.ok() && !step->reply) Fail("a responder step without a reply");
      break;
    }
    case 3: {
      auto client = sync::Negentropy::Create(Storage(), 4096);
      if (!client.ok()) Fail("negentropy client");
      (void)client->Initiate();
      auto step = client->Reconcile(in);
      if (step.ok() && step->reply && step->reply->size() > 4096)
        Fail("a message over the frame-size limit");
      break;
    }
  }
  return 0;
}
