#include "node/node.h"

#include <asio/post.hpp>

#include "node/identity.h"
#include "util/clock.h"

namespace topo::node {

Result<std::unique_ptr<Node>> Node::Open(asio::io_context& io, NodeOptions options, Log& log) {
  std::unique_ptr<Node> n(new Node(io, std::move(options), log));
  n->started_at_ms_ = SystemClock::Instance().NowMs();
  if (PathExists(n->db())) {
    auto id = LoadIdentity(n->db(), n->options_.passphrase);
    if (!id.ok()) return id.status();
    n->identity_ = std::make_unique<store::DeviceIdentity>(std::move(id).value());
    if (auto s = n->OpenReplica(); !s.ok()) return s;
  }
  return n;
}

Node::~Node() = default;

Status Node::OpenReplica() {
  object::ReplicaOptions o;
  o.create_if_missing = false;
  o.box = &identity_->box;
  auto r = object::Replica::Open(db(), identity_->device.Clone(), o);
  if (!r.ok()) return r.status();
  replica_ = std::move(r).value();
  return Status::Ok();
}

Result<bool> Node::EnsureIdentity(const std::string& device_name) {
  if (identity_) return false;
  auto init = InitIdentity(db(), options_.passphrase, device_name);
  if (!init.ok()) return init.status();
  identity_ = std::make_unique<store::DeviceIdentity>(std::move(init->id));
  if (auto s = OpenReplica(); !s.ok()) {
    identity_.reset();
    return s;
  }
  log_.Info("created database " + db() + " for device " + identity_->device_name);
  return init->created;
}

Result<object::Replica*> Node::replica() {
  if (!replica_)
    return Status::NotFound("no database at " + db() + " (create one with: topo --db " + db() +
                            " init)");
  return replica_.get();
}

Result<store::DeviceIdentity*> Node::identity() {
  if (!identity_)
    return Status::NotFound("no database at " + db() + " (create one with: topo --db " + db() +
                            " init)");
  return identity_.get();
}

void Node::Stop(std::string why) {
  if (stopping_) return;
  stopping_ = true;
  log_.Info("stopping: " + why);
  asio::post(io_, [this, why = std::move(why)] {
    if (on_stop) on_stop(why);
  });
}

}  // namespace topo::node
