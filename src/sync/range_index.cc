#include "sync/range_index.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace topo::sync {
namespace {

constexpr size_t kMaxLeaf = 64;
constexpr size_t kMaxInner = 32;
// A node other than the root holds at least a quarter of its maximum. Any minimum at or
// below half the maximum works with merge-then-resplit rebalancing; a lower one means
// fewer rebalances when inserts and erases alternate at one spot.
constexpr size_t kMinLeaf = kMaxLeaf / 4;
constexpr size_t kMinInner = kMaxInner / 4;

}  // namespace

namespace detail {

struct RangeIndexNode {
  using Node = RangeIndexNode;

  bool leaf = true;
  std::vector<Item> items;  // leaf: ascending

  // Inner node: one entry per child, in the children's order.
  std::vector<std::unique_ptr<Node>> kids;
  std::vector<Item> mins;        // smallest item beneath each child
  std::vector<uint64_t> counts;  // items beneath each child
  std::vector<IdSum> sums;       // id sum beneath each child

  size_t Width() const { return leaf ? items.size() : kids.size(); }
  size_t MinWidth() const { return leaf ? kMinLeaf : kMinInner; }
  const Item& First() const { return leaf ? items.front() : mins.front(); }

  uint64_t TotalCount() const {
    if (leaf) return items.size();
    uint64_t n = 0;
    for (uint64_t c : counts) n += c;
    return n;
  }
  IdSum TotalSum() const {
    IdSum s;
    if (leaf) {
      for (const Item& it : items) s.Add(it.id);
    } else {
      for (const IdSum& k : sums) s.Add(k);
    }
    return s;
  }

  // The child whose subtree holds `x` if any does: the last child whose minimum is <= x,
  // or the first child when x is below them all.
  size_t ChildFor(const Item& x) const {
    auto it = std::upper_bound(mins.begin(), mins.end(), x);
    return it == mins.begin() ? 0 : static_cast<size_t>(it - mins.begin()) - 1;
  }

  // Recomputes entry i from the child itself: O(width of the child).
  void Refresh(size_t i) {
    const Node& k = *kids[i];
    mins[i] = k.First();
    counts[i] = k.TotalCount();
    sums[i] = k.TotalSum();
  }

  void InsertKid(size_t i, std::unique_ptr<Node> kid) {
    kids.insert(kids.begin() + i, std::move(kid));
    mins.insert(mins.begin() + i, Item{});
    counts.insert(counts.begin() + i, 0);
    sums.insert(sums.begin() + i, IdSum{});
    Refresh(i);
  }

  void EraseKid(size_t i) {
    kids.erase(kids.begin() + i);
    mins.erase(mins.begin() + i);
    counts.erase(counts.begin() + i);
    sums.erase(sums.begin() + i);
  }

  // Moves entries [from, Width()) to the end of `to` (a node of the same kind).
  void MoveTail(size_t from, Node& to) {
    if (leaf) {
      to.items.insert(to.items.end(), items.begin() + from, items.end());
      items.resize(from);
      return;
    }
    for (size_t i = from; i < kids.size(); ++i) {
      to.kids.push_back(std::move(kids[i]));
      to.mins.push_back(mins[i]);
      to.counts.push_back(counts[i]);
      to.sums.push_back(sums[i]);
    }
    kids.resize(from);
    mins.resize(from);
    counts.resize(from);
    sums.resize(from);
  }

  // Moves the upper half to a new right sibling and returns it.
  std::unique_ptr<Node> Split() {
    auto right = std::make_unique<Node>();
    right->leaf = leaf;
    MoveTail(Width() / 2, *right);
    return right;
  }
};

}  // namespace detail

namespace {

using Node = detail::RangeIndexNode;

// Inserts x beneath n. Returns false when x is present. When n overflows it is split and
// its new right sibling is left in `split`.
bool InsertAt(Node& n, const Item& x, std::unique_ptr<Node>& split) {
  if (n.leaf) {
    auto it = std::lower_bound(n.items.begin(), n.items.end(), x);
    if (it != n.items.end() && *it == x) return false;
    n.items.insert(it, x);
    if (n.items.size() > kMaxLeaf) split = n.Split();
    return true;
  }
  const size_t i = n.ChildFor(x);
  std::unique_ptr<Node> kid_split;
  if (!InsertAt(*n.kids[i], x, kid_split)) return false;
  if (kid_split) {
    n.Refresh(i);
    n.InsertKid(i + 1, std::move(kid_split));
    if (n.kids.size() > kMaxInner) split = n.Split();
  } else {
    n.counts[i] += 1;
    n.sums[i].Add(x.id);
    if (x < n.mins[i]) n.mins[i] = x;
  }
  return true;
}

// Child i of n has fallen below its minimum: merge it with a neighbour, and split the
// merged node in two again when it is too wide.
void Rebalance(Node& n, size_t i) {
  const size_t left = i + 1 < n.kids.size() ? i : i - 1;
  Node& l = *n.kids[left];
  Node& r = *n.kids[left + 1];
  r.MoveTail(0, l);
  const size_t max_width = l.leaf ? kMaxLeaf : kMaxInner;
  if (l.Width() > max_width) {
    l.MoveTail(l.Width() / 2, r);
    n.Refresh(left);
    n.Refresh(left + 1);
  } else {
    n.EraseKid(left + 1);
    n.Refresh(left);
  }
}

// Removes x from beneath n; false when it is not there.
bool EraseAt(Node& n, const Item& x) {
  if (n.leaf) {
    auto it = std::lower_bound(n.items.begin(), n.items.end(), x);
    if (it == n.items.end() || *it != x) return false;
    n.items.erase(it);
    return true;
  }
  const size_t i = n.ChildFor(x);
  Node& kid = *n.kids[i];
  if (!EraseAt(kid, x)) return false;
  n.counts[i] -= 1;
  n.sums[i].Sub(x.id);
  if (kid.Width() > 0) n.mins[i] = kid.First();
  if (kid.Width() < kid.MinWidth() && n.kids.size() > 1) Rebalance(n, i);
  return true;
}

// Calls visit for items [begin, end) beneath n (indexes relative to n); false when visit
// asked to stop.
bool VisitAt(const Node& n, uint64_t begin, uint64_t end,
             const std::function<bool(const Item&)>& visit) {
  if (n.leaf) {
    for (uint64_t i = begin; i < end; ++i)
      if (!visit(n.items[i])) return false;
    return true;
  }
  uint64_t offset = 0;
  for (size_t i = 0; i < n.kids.size() && offset < end; ++i) {
    const uint64_t next = offset + n.counts[i];
    if (next > begin) {
      const uint64_t b = begin > offset ? begin - offset : 0;
      const uint64_t e = std::min(end, next) - offset;
      if (!VisitAt(*n.kids[i], b, e, visit)) return false;
    }
    offset = next;
  }
  return true;
}

Status ValidateAt(const Node& n, bool is_root, const Item* lower, uint64_t& count, IdSum& sum,
                  std::optional<Item>& last) {
  const size_t max_width = n.leaf ? kMaxLeaf : kMaxInner;
  if (n.Width() > max_width) return Status::Corruption("range index: node too wide");
  if (!is_root && n.Width() < n.MinWidth())
    return Status::Corruption("range index: node below minimum fill");
  if (n.leaf) {
    for (const Item& it : n.items) {
      if (last && !(*last < it)) return Status::Corruption("range index: items out of order");
      if (lower && it < *lower) return Status::Corruption("range index: item below its minimum");
      last = it;
      sum.Add(it.id);
    }
    count += n.items.size();
    return Status::Ok();
  }
  if (n.kids.size() != n.mins.size() || n.kids.size() != n.counts.size() ||
      n.kids.size() != n.sums.size())
    return Status::Corruption("range index: inner arrays differ in length");
  if (!is_root && n.kids.empty()) return Status::Corruption("range index: empty inner node");
  for (size_t i = 0; i < n.kids.size(); ++i) {
    uint64_t kid_count = 0;
    IdSum kid_sum;
    TOPO_RETURN_IF_ERROR(ValidateAt(*n.kids[i], false, &n.mins[i], kid_count, kid_sum, last));
    if (kid_count != n.counts[i]) return Status::Corruption("range index: wrong child count");
    if (!(kid_sum == n.sums[i])) return Status::Corruption("range index: wrong child sum");
    if (n.kids[i]->Width() > 0 && !(n.kids[i]->First() == n.mins[i]))
      return Status::Corruption("range index: wrong child minimum");
    count += kid_count;
    sum.Add(kid_sum);
  }
  return Status::Ok();
}

}  // namespace

RangeIndex::RangeIndex() : root_(std::make_unique<Node>()) {}
RangeIndex::~RangeIndex() = default;
RangeIndex::RangeIndex(RangeIndex&&) noexcept = default;
RangeIndex& RangeIndex::operator=(RangeIndex&&) noexcept = default;

Status RangeIndex::Insert(const Item& item) {
  if (item.timestamp == kInfinityTimestamp)
    return Status::InvalidArgument("range index: timestamp 2^64-1 is reserved");
  std::unique_ptr<Node> split;
  if (!InsertAt(*root_, item, split)) return Status::AlreadyExists("range index: item present");
  ++size_;
  if (split) {
    auto root = std::make_unique<Node>();
    root->leaf = false;
    root->InsertKid(0, std::move(root_));
    root->InsertKid(1, std::move(split));
    root_ = std::move(root);
  }
  return Status::Ok();
}

bool RangeIndex::Erase(const Item& item) {
  if (!EraseAt(*root_, item)) return false;
  --size_;
  if (!root_->leaf && root_->kids.size() == 1) root_ = std::move(root_->kids[0]);
  return true;
}

bool RangeIndex::Contains(const Item& item) const {
  const Node* n = root_.get();
  while (!n->leaf) n = n->kids[n->ChildFor(item)].get();
  return std::binary_search(n->items.begin(), n->items.end(), item);
}

uint64_t RangeIndex::LowerBound(const Item& bound) const {
  uint64_t pos = 0;
  const Node* n = root_.get();
  while (!n->leaf) {
    const size_t i = n->ChildFor(bound);
    for (size_t k = 0; k < i; ++k) pos += n->counts[k];
    n = n->kids[i].get();
  }
  return pos + (std::lower_bound(n->items.begin(), n->items.end(), bound) - n->items.begin());
}

IdSum RangeIndex::PrefixSum(uint64_t end) const {
  IdSum sum;
  const Node* n = root_.get();
  while (!n->leaf) {
    size_t i = 0;
    // The last child takes whatever remains, so end == Size() descends to the last leaf.
    for (; i + 1 < n->kids.size() && end >= n->counts[i]; ++i) {
      end -= n->counts[i];
      sum.Add(n->sums[i]);
    }
    n = n->kids[i].get();
  }
  for (uint64_t k = 0; k < end; ++k) sum.Add(n->items[k].id);
  return sum;
}

IdSum RangeIndex::Sum(uint64_t begin, uint64_t end) const {
  IdSum sum = PrefixSum(end);
  if (begin > 0) sum.Sub(PrefixSum(begin));
  return sum;
}

void RangeIndex::Visit(uint64_t begin, uint64_t end,
                       const std::function<bool(const Item&)>& visit) const {
  if (begin < end) VisitAt(*root_, begin, end, visit);
}

Status RangeIndex::Validate() const {
  uint64_t count = 0;
  IdSum sum;
  std::optional<Item> last;
  TOPO_RETURN_IF_ERROR(ValidateAt(*root_, true, nullptr, count, sum, last));
  if (count != size_)
    return Status::Corruption("range index: holds " + std::to_string(count) + " items, size " +
                              std::to_string(size_));
  if (!root_->leaf && root_->kids.size() < 2)
    return Status::Corruption("range index: inner root with one child");
  return Status::Ok();
}

}  // namespace topo::sync
