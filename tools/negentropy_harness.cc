// topo-negentropy-harness: topo's negentropy v1 behind the line protocol of the conformance
// harnesses in hoytech/negentropy (test/*/harness.*), so its test scripts can drive topo
// against itself or against another implementation.
//
// stdin, one command a line (empty lines are ignored):
//   item,<timestamp>,<64 hex id>   add an item (before seal)
//   seal                           the set is complete
//   initiate                       act as the client: print the first message
//   msg,<hex>                      a message from the peer (the hex may be empty)
// stdout:
//   msg,<hex>                      a message for the peer. The server answers every msg.
//   have,<hex id> / need,<hex id>  client only, after each server message: ids only this
//                                  side holds / only the peer holds
//   done                           client only: reconciliation is complete
// Environment: FRAMESIZELIMIT=<bytes> (0 or unset: none; else at least 4096).
//              TOPO_NEGENTROPY_STORAGE=index keeps the items in the incremental RangeIndex
//              instead of the sorted vector (same messages).
// Any other input, a malformed message or an oversized frame: one line on stderr, exit 1.
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sync/negentropy.h"
#include "sync/range_index.h"
#include "sync/range_storage.h"
#include "util/encoding.h"

namespace {

using topo::Status;
using namespace topo::sync;

[[noreturn]] void Fail(const std::string& why) {
  std::cout.flush();
  std::fprintf(stderr, "topo-negentropy-harness: %s\n", why.c_str());
  std::exit(1);
}

std::vector<std::string_view> SplitFields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  for (;;) {
    size_t comma = line.find(',', start);
    fields.push_back(line.substr(start, comma - start));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return fields;
}

std::optional<uint64_t> ParseU64(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

uint64_t FrameSizeLimitFromEnv() {
  const char* env = std::getenv("FRAMESIZELIMIT");
  if (!env || !*env) return 0;
  auto v = ParseU64(env);
  if (!v) Fail(std::string("FRAMESIZELIMIT is not a number: ") + env);
  return *v;
}

class Harness {
 public:
  Harness(uint64_t frame_size_limit, bool use_index)
      : frame_size_limit_(frame_size_limit), use_index_(use_index) {}

  void Run(std::string_view line) {
    if (line.empty()) return;
    auto fields = SplitFields(line);
    const std::string_view cmd = fields[0];
    if (cmd == "item") {
      if (fields.size() != 3) Fail("item: expected item,<timestamp>,<id>");
      AddItem(fields[1], fields[2]);
    } else if (cmd == "seal") {
      Expect(fields.size() == 1, "seal takes no fields");
      Seal();
    } else if (cmd == "initiate") {
      Expect(fields.size() == 1, "initiate takes no fields");
      Bytes first = Session().Initiate();
      if (frame_size_limit_ && first.size() > frame_size_limit_)
        Fail("initiate: frame size limit exceeded");
      std::cout << "msg," << topo::HexEncode(first) << std::endl;
    } else if (cmd == "msg") {
      Expect(fields.size() <= 2, "msg: expected msg,<hex>");
      auto bytes = topo::HexDecode(fields.size() == 2 ? fields[1] : std::string_view());
      if (!bytes.ok()) Fail("msg: " + bytes.status().message());
      Message(*bytes);
    } else {
      Fail("unknown command: " + std::string(cmd));
    }
  }

 private:
  using Bytes = topo::Bytes;

  static void Expect(bool ok, const std::string& why) {
    if (!ok) Fail(why);
  }

  void AddItem(std::string_view timestamp, std::string_view hex_id) {
    if (session_) Fail("item: the set is already sealed");
    auto ts = ParseU64(timestamp);
    if (!ts) Fail("item: bad timestamp: " + std::string(timestamp));
    auto id = topo::HexDecodeFixed<32>(hex_id);
    if (!id.ok()) Fail("item: bad id: " + id.status().message());
    Status s = use_index_ ? index_.Insert(Item{*ts, *id}) : vector_.Insert(Item{*ts, *id});
    if (!s.ok()) Fail("item: " + s.message());
  }

  void Seal() {
    if (session_) Fail("seal: already sealed");
    if (!use_index_) {
      Status s = vector_.Seal();
      if (!s.ok()) Fail("seal: " + s.message());
    }
    const RangeStorage& storage = use_index_ ? static_cast<const RangeStorage&>(index_) : vector_;
    auto session = Negentropy::Create(storage, frame_size_limit_);
    if (!session.ok()) Fail(session.status().message());
    session_.emplace(std::move(session).value());
  }

  Negentropy& Session() {
    if (!session_) Fail("the set is not sealed yet");
    return *session_;
  }

  void Message(const Bytes& message) {
    Negentropy& session = Session();
    auto step = session.Reconcile(message);
    if (!step.ok()) Fail(step.status().message());
    for (const auto& id : step->have) std::cout << "have," << topo::HexEncode(id.view()) << "\n";
    for (const auto& id : step->need) std::cout << "need," << topo::HexEncode(id.view()) << "\n";
    if (!step->reply) {
      std::cout << "done" << std::endl;
      return;
    }
    if (frame_size_limit_ && step->reply->size() > frame_size_limit_)
      Fail("frame size limit exceeded: " + std::to_string(step->reply->size()) + " > " +
           std::to_string(frame_size_limit_));
    std::cout << "msg," << topo::HexEncode(*step->reply) << std::endl;
  }

  uint64_t frame_size_limit_;
  bool use_index_;
  SortedVectorStorage vector_;
  RangeIndex index_;
  std::optional<Negentropy> session_;
};

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  const char* storage = std::getenv("TOPO_NEGENTROPY_STORAGE");
  const std::string_view storage_name = storage ? storage : "vector";
  if (storage_name != "vector" && storage_name != "index")
    Fail("TOPO_NEGENTROPY_STORAGE must be vector or index");
  Harness harness(FrameSizeLimitFromEnv(), storage_name == "index");
  std::string line;
  while (std::getline(std::cin, line)) harness.Run(line);
  return 0;
}
