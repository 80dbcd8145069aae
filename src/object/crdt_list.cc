#include "object/crdt_list.h"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>

#include "codec/reader.h"
#include "object/crdt_state.h"

namespace topo::object {
namespace internal {
namespace {

// One list.insert as stored: P 'e' [32] vertex id -> Run.
struct Run {
  VertexId id;
  uint64_t depth = 0;
  uint64_t created_at = 0;
  std::optional<ElemId> after;
  std::vector<Bytes> values;
};

Bytes RunKey(ByteView prefix, const VertexId& id) {
  Bytes k = SubKey(prefix, kListRun);
  Append(k, id.view());
  return k;
}

Bytes DeletedKey(ByteView prefix, const ElemId& e) {
  Bytes k = SubKey(prefix, kListDeleted);
  Append(k, e.vertex.view());
  for (int shift = 24; shift >= 0; shift -= 8) k.push_back(static_cast<uint8_t>(e.index >> shift));
  return k;
}

Bytes EncodeRun(const Run& run) {
  codec::Writer w;
  w.Varint(run.depth);
  w.Varint(run.created_at);
  w.U8(run.after ? 1 : 0);
  if (run.after) {
    w.Fixed(run.after->vertex);
    w.Varint(run.after->index);
  }
  w.Varint(run.values.size());
  for (const Bytes& v : run.values) w.LenBytes(v);
  return w.Take();
}

// Decodes the header, and the values unless `header_only` (then values stays empty and
// `count` says how many there are).
Status DecodeRun(ByteView bytes, bool header_only, Run& run, uint64_t& count) {
  codec::Reader r(bytes);
  TOPO_RETURN_IF_ERROR(r.Varint("list run: depth", run.depth));
  TOPO_RETURN_IF_ERROR(r.Varint("list run: created_at", run.created_at));
  uint8_t has_after;
  TOPO_RETURN_IF_ERROR(r.U8("list run: has_after", has_after));
  if (has_after > 1) return BadState("list run: has_after is not 0 or 1");
  if (has_after) {
    ElemId after;
    uint64_t index;
    TOPO_RETURN_IF_ERROR(r.Fixed("list run: after", after.vertex));
    TOPO_RETURN_IF_ERROR(r.VarintMax("list run: after", codec::kMaxListInsert - 1, index));
    after.index = static_cast<uint32_t>(index);
    run.after = after;
  }
  TOPO_RETURN_IF_ERROR(r.VarintMax("list run: count", codec::kMaxListInsert, count));
  if (header_only) return Status::Ok();
  if (count > r.remaining()) return BadState("list run: truncated");
  run.values.resize(count);
  for (Bytes& v : run.values) {
    ByteView b;
    TOPO_RETURN_IF_ERROR(r.LenBytes("list run: value", codec::kMaxCrdtValue, b));
    v.assign(b.begin(), b.end());
  }
  return r.ExpectEnd("list run");
}

// Sibling order: descending by this key.
using OrderKey = std::tuple<uint64_t, uint64_t, VertexId, uint32_t>;

Status ApplyInsert(store::StateStore& state, const codec::ObjectId& object, ByteView prefix,
                   const codec::ListInsert& insert, const OpContext& ctx) {
  Run run{ctx.id, ctx.depth, ctx.created_at, insert.after, insert.values};
  return state.Put(object, RunKey(prefix, ctx.id), EncodeRun(run));
}

// Returns whether a visible-or-hidden present element got deleted now.
Result<bool> ApplyDelete(store::StateStore& state, const codec::ObjectId& object, ByteView prefix,
                         const codec::ListDelete& del) {
  bool changed = false;
  std::optional<VertexId> cached_id;
  uint64_t cached_count = 0;  // elements of cached_id's run; 0 when it has not arrived
  for (const ElemId& e : del.elems) {
    Bytes key = DeletedKey(prefix, e);
    TOPO_ASSIGN_OR_RETURN(auto existing, state.Get(object, key));
    if (existing) continue;
    TOPO_RETURN_IF_ERROR(state.Put(object, key, {}));
    if (!cached_id || *cached_id != e.vertex) {  // elems ascend, so runs come grouped
      cached_id = e.vertex;
      cached_count = 0;
      TOPO_ASSIGN_OR_RETURN(auto raw, state.Get(object, RunKey(prefix, e.vertex)));
      if (raw) {
        Run run;
        TOPO_RETURN_IF_ERROR(DecodeRun(*raw, /*header_only=*/true, run, cached_count));
      }
    }
    if (e.index < cached_count) changed = true;
  }
  return changed;
}

}  // namespace

Status ApplyListOp(store::StateStore& state, const codec::ObjectId& object, ByteView prefix,
                   const CrdtOp& op, const OpContext& ctx, std::vector<Effect>& effects) {
  if (const auto* insert = std::get_if<codec::ListInsert>(&op.op)) {
    TOPO_RETURN_IF_ERROR(ApplyInsert(state, object, prefix, *insert, ctx));
    effects.push_back({"", false});
    return Status::Ok();
  }
  const auto* del = std::get_if<codec::ListDelete>(&op.op);
  if (!del) return Status::Internal("ApplyListOp: not a list op");
  TOPO_ASSIGN_OR_RETURN(bool changed, ApplyDelete(state, object, prefix, *del));
  if (changed) effects.push_back({"", false});
  return Status::Ok();
}

}  // namespace internal

using internal::BadState;
using internal::DecodeRun;
using internal::OrderKey;
using internal::Run;

Result<std::vector<ListElement>> ReadList(store::StateStore& state, const codec::ObjectId& object,
                                          ByteView prefix) {
  std::vector<Run> runs;
  std::vector<ElemId> deleted;  // ascending: the key order is (vertex, big-endian index)
  Status bad;
  TOPO_RETURN_IF_ERROR(state.Scan(object, prefix, [&](ByteView key, ByteView value) {
    ByteView rest = key.subspan(prefix.size());
    if (rest.size() == 1 + codec::VertexId::kSize && rest[0] == internal::kListRun) {
      Run run;
      run.id = codec::VertexId::FromView(rest.subspan(1));
      uint64_t count;
      bad = DecodeRun(value, /*header_only=*/false, run, count);
      if (!bad.ok()) return false;
      runs.push_back(std::move(run));
      return true;
    }
    if (rest.size() == 1 + codec::VertexId::kSize + 4 && rest[0] == internal::kListDeleted) {
      ElemId e;
      e.vertex = codec::VertexId::FromView(rest.subspan(1, codec::VertexId::kSize));
      for (size_t i = 1 + codec::VertexId::kSize; i < rest.size(); ++i)
        e.index = (e.index << 8) | rest[i];
      deleted.push_back(e);
      return true;
    }
    bad = BadState("unexpected key in a list");
    return false;
  }));
  TOPO_RETURN_IF_ERROR(bad);

  std::unordered_map<codec::VertexId, size_t, FixedBytesHash> run_of;
  for (size_t i = 0; i < runs.size(); ++i) run_of.emplace(runs[i].id, i);

  // Node = (run, index). Children of a node: its successor in the run and the runs
  // inserted after it. Runs whose `after` is absent are unreachable and not shown.
  auto node_id = [](size_t run, uint32_t index) { return (uint64_t{run} << 32) | index; };
  std::unordered_map<uint64_t, std::vector<size_t>> attached;
  std::vector<size_t> at_head;
  for (size_t i = 0; i < runs.size(); ++i) {
    const auto& after = runs[i].after;
    if (!after) {
      at_head.push_back(i);
      continue;
    }
    auto it = run_of.find(after->vertex);
    if (it == run_of.end() || after->index >= runs[it->second].values.size()) continue;
    attached[node_id(it->second, after->index)].push_back(i);
  }

  struct Node {
    size_t run;
    uint32_t index;
  };
  auto key_of = [&runs](const Node& n) {
    const Run& r = runs[n.run];
    return OrderKey{r.depth, r.created_at, r.id, n.index};
  };
  // Pushes children so that the greatest key is popped first.
  std::vector<Node> stack;
  std::vector<Node> children;
  auto push_children = [&](std::vector<Node>& kids) {
    std::sort(kids.begin(), kids.end(),
              [&](const Node& a, const Node& b) { return key_of(a) < key_of(b); });
    stack.insert(stack.end(), kids.begin(), kids.end());
  };
  for (size_t r : at_head) children.push_back({r, 0});
  push_children(children);

  std::vector<ListElement> out;
  while (!stack.empty()) {
    Node n = stack.back();
    stack.pop_back();
    Run& run = runs[n.run];
    ElemId id{run.id, n.index};
    if (!std::binary_search(deleted.begin(), deleted.end(), id))
      out.push_back({id, std::move(run.values[n.index])});
    children.clear();
    if (n.index + 1 < run.values.size()) children.push_back({n.run, n.index + 1});
    auto it = attached.find(node_id(n.run, n.index));
    if (it != attached.end())
      for (size_t r : it->second) children.push_back({r, 0});
    push_children(children);
  }
  return out;
}

Result<std::string> RenderListText(store::StateStore& state, const codec::ObjectId& object,
                                   ByteView prefix) {
  TOPO_ASSIGN_OR_RETURN(auto elems, ReadList(state, object, prefix));
  std::string text;
  for (size_t i = 0; i < elems.size(); ++i) {
    std::string_view s = AsChars(elems[i].value);
    if (!codec::IsValidUtf8(s))
      return Status::InvalidArgument("list element " + std::to_string(i) +
                                     " is not valid UTF-8 text");
    text.append(s);
  }
  return text;
}

Result<CrdtOp> MakeListInsert(store::StateStore& state, const codec::ObjectId& object,
                              ByteView prefix, size_t index, std::vector<Bytes> values) {
  TOPO_ASSIGN_OR_RETURN(auto elems, ReadList(state, object, prefix));
  if (index > elems.size())
    return Status::InvalidArgument("list insert at " + std::to_string(index) +
                                   " is past the end (size " + std::to_string(elems.size()) + ")");
  codec::ListInsert insert;
  if (index > 0) insert.after = elems[index - 1].id;
  insert.values = std::move(values);
  CrdtOp op{std::move(insert)};
  TOPO_RETURN_IF_ERROR(codec::CheckCrdtOp(op));
  return op;
}

Result<CrdtOp> MakeListDelete(store::StateStore& state, const codec::ObjectId& object,
                              ByteView prefix, size_t index, size_t count) {
  if (count == 0) return Status::InvalidArgument("list delete of no elements");
  if (count > codec::kMaxCrdtIds)
    return Status::InvalidArgument("list delete of more than " +
                                   std::to_string(codec::kMaxCrdtIds) + " elements at once");
  TOPO_ASSIGN_OR_RETURN(auto elems, ReadList(state, object, prefix));
  if (index > elems.size() || count > elems.size() - index)
    return Status::InvalidArgument("list delete of [" + std::to_string(index) + ", " +
                                   std::to_string(index + count) + ") is past the end (size " +
                                   std::to_string(elems.size()) + ")");
  codec::ListDelete del;
  for (size_t i = index; i < index + count; ++i) del.elems.push_back(elems[i].id);
  std::sort(del.elems.begin(), del.elems.end());
  return CrdtOp{std::move(del)};
}

}  // namespace topo::object
