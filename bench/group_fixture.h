// A workspace group for the benchmarks that need one (acl, chat): member devices with their
// keys, and a group that every one of them has joined and holds the epoch key of.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "bench/harness.h"
#include "codec/group.h"
#include "object/replica.h"

namespace topo::bench {

// One member device: its user key, device key, box key and certificate.
struct Member {
  crypto::SigningKey user;
  crypto::SigningKey key;
  crypto::BoxKey box;
  codec::DeviceCertificate cert;
  // Fresh random keys.
  Member();
  // Keys derived from (seed, index): a child process can make the same device again.
  Member(uint64_t seed, unsigned index);

 private:
  Member(crypto::SigningKey user, crypto::SigningKey key, crypto::BoxKey box);
};

// A replica at `path` of member `m`'s device (it reads group content sealed to it).
std::unique_ptr<object::Replica> OpenAt(const std::string& path, const Member& m);

// members[0] creates a group on `owner` (a replica of its device); every other member joins
// through one unlimited invite (join vertices made here, each on the one before, as joiners
// that hold the group would make them); then the owner shares the epoch key with them all.
codec::ObjectId MakeGroup(object::Replica& owner, const std::vector<Member>& members,
                          bool history_visible);

}  // namespace topo::bench
