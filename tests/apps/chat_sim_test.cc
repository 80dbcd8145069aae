// The chat in the deterministic simulator (sync/sim.h): node 0 makes a workspace with
// #general and #random-1, invites the others, and every member writes random chat entries
// (posts, thread replies, edits of its own messages and of others', deletes by the author,
// by the owner and by someone not allowed, reactions added and removed) concurrently, under
// loss, duplication, reordering, partitions, crashes with restarts and clock skew, with a
// byzantine node in one case. Every run must end with the same projection (the chat's
// tables, Replica::ProjectionDump) on every member, nothing lost, nothing leaked to the
// outsider, and a state that shows the projector's rules (apps/chat/projector.h): edits by
// the author only, deletes by the author or the owner only, every kind of entry present.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "apps/chat/chat.h"
#include "apps/chat/projector.h"
#include "object/replica.h"
#include "sync/sim.h"
#include "testing/temp_dir.h"

namespace topo::apps::chat {
namespace {

using sync::SimNode;
using sync::SimOptions;

const char* const kEmoji[] = {"👍", "🎉", "👀"};

// A scenario's own account of what was written, and what the members show at the end.
struct ChatScenario {
  std::vector<codec::ObjectId> channels;
  // Writes by kind (the numbers also keep every text unique).
  uint64_t posts = 0, replies = 0, edits = 0, forged_edits = 0, owner_deletes = 0,
           reactions_off = 0;
  // Delete attempts per message: allowed (the author or the owner) or not.
  std::map<codec::VertexId, bool> delete_allowed;  // true once any allowed one was written
  // Every message each node showed at its last state check, by node.
  std::map<int, std::vector<Message>> shown;
  std::map<crypto::PublicKey, int> node_of;  // user -> node, as the hooks saw them

  // Node 0 (the owner) makes #general as create-workspace does, then #random-1, ...
  Result<codec::ObjectId> Create(object::Replica& r, const SimNode& node,
                                 const codec::ObjectId& group, int index) {
    Chat chat(r, node.user);
    auto id = index == 0 ? chat.EnsureGeneral(group)
                         : chat.CreateChannel(group, "random-" + std::to_string(index), "");
    if (id.ok()) channels.push_back(*id);
    return id;
  }

  // One random entry from a member, about the messages it holds now. A message written
  // here says who wrote what ("by node N"), so the end state can be read against it.
  Result<codec::VertexId> Write(object::Replica& r, const SimNode& node,
                                const codec::ObjectId& channel, std::mt19937_64& rng) {
    Chat chat(r, node.user);
    TOPO_ASSIGN_OR_RETURN(auto roots, chat.Messages(channel, 40, std::nullopt));
    const std::string me = "by node " + std::to_string(node.index);
    const uint64_t roll = rng() % 13;
    if (roots.empty() || roll < 3) {
      TOPO_ASSIGN_OR_RETURN(
          auto id,
          chat.Write(channel,
                     Post{"post " + std::to_string(posts) + " " + me, std::nullopt, {}, {}}));
      ++posts;
      return id;
    }
    const Message& root = roots[rng() % roots.size()];
    if (roll < 5) {
      TOPO_ASSIGN_OR_RETURN(
          auto id,
          chat.Write(channel,
                     Post{"reply " + std::to_string(replies) + " " + me, root.id, {}, {}}));
      ++replies;
      return id;
    }
    // The target: the root, or now and then one of its thread's replies.
    Message target = root;
    if (root.replies > 0 && rng() % 3 == 0) {
      TOPO_ASSIGN_OR_RETURN(auto thread, chat.Messages(channel, 40, root.id));
      target = thread[rng() % thread.size()];
    }
    const bool mine = target.author == node.user;
    if (roll < 8) {
      // Someone else's edit is written like any other, and must never show.
      std::string text = mine ? "edit " + std::to_string(edits) + " " + me
                              : "forged edit " + std::to_string(forged_edits) + " " + me;
      TOPO_ASSIGN_OR_RETURN(auto id, chat.Write(channel, Edit{target.id, text}));
      ++(mine ? edits : forged_edits);
      return id;
    }
    if (roll < 10) {
      TOPO_ASSIGN_OR_RETURN(auto id, chat.Write(channel, Delete{target.id}));
      delete_allowed[target.id] |= mine || node.index == 0;
      owner_deletes += !mine && node.index == 0;
      return id;
    }
    // Reactions: on twice as often as off, so some stay.
    const char* emoji = kEmoji[rng() % 3];
    const bool on = rng() % 3 != 0;
    TOPO_ASSIGN_OR_RETURN(auto id, chat.Write(channel, React{target.id, emoji, on}));
    reactions_off += !on;
    return id;
  }

  // The projection, compared among the members; what the chat shows is kept for the end.
  Result<std::string> State(object::Replica& r, const SimNode& node) {
    Chat chat(r, node.user);
    std::vector<Message>& all = shown[node.index];
    all.clear();
    for (const auto& c : channels) {
      TOPO_ASSIGN_OR_RETURN(auto roots, chat.Messages(c, 10'000, std::nullopt));
      for (const auto& m : roots) {
        all.push_back(m);
        if (m.replies == 0) continue;
        TOPO_ASSIGN_OR_RETURN(auto thread, chat.Messages(c, 10'000, m.id));
        for (const auto& reply : thread)
          if (reply.thread) all.push_back(reply);
      }
    }
    return r.ProjectionDump();
  }

  void Hook(SimOptions& o) {
    o.on_open = [this](object::Replica&, const SimNode& n) {
      node_of[n.user] = n.index;
      return Register();
    };
    o.create_group_object = [this](object::Replica& r, const SimNode& n, const codec::ObjectId& g,
                                   int k) { return Create(r, n, g, k); };
    o.write_group_object = [this](object::Replica& r, const SimNode& n, const codec::ObjectId& c,
                                  std::mt19937_64& rng) { return Write(r, n, c, rng); };
    o.state = [this](object::Replica& r, const SimNode& n) { return State(r, n); };
  }
};

SimOptions ForSeed(uint64_t seed, const std::string& dir) {
  SimOptions o;
  o.seed = seed;
  o.nodes = 4 + static_cast<int>(seed % 2);
  o.objects = 0;  // every write is a chat entry
  o.group_objects = 2;
  o.outsiders = 1;
  o.writes = 160;
  o.write_phase_ms = 30'000;  // joins take a while under faults: time to talk after
  o.loss = 0.1;
  o.duplicate = 0.1;
  o.partitions = 2;
  o.crashes = 2;
  o.dir = dir;
  return o;
}

std::string Rerun(const SimOptions& o) {
  return "\nseed " + std::to_string(o.seed) + ", " + std::to_string(o.nodes) + " nodes" +
         (o.byzantine ? ", byzantine" : "") + " (TOPO_CHAT_SIM_TRACE=1 prints its trace)";
}

// What node 0 (a member) shows at the end of a run, by kind.
struct Tally {
  uint64_t messages = 0, edited = 0, tombstones = 0, reacted = 0, replies = 0;
  uint64_t forged_edits = 0, refused_deletes = 0;  // written, and (checked) without effect
  uint64_t owner_deletes = 0, reactions_off = 0;   // written
  void Add(const Tally& t) {
    messages += t.messages;
    edited += t.edited;
    tombstones += t.tombstones;
    reacted += t.reacted;
    replies += t.replies;
    forged_edits += t.forged_edits;
    refused_deletes += t.refused_deletes;
    owner_deletes += t.owner_deletes;
    reactions_off += t.reactions_off;
  }
};

// Runs the scenario and checks everything any run must show (convergence, nothing lost or
// leaked, the projector's rules on what node 0 shows); `t` counts what it showed.
void RunAndCheck(SimOptions o, ChatScenario& s, sync::SimResult& r, Tally& t) {
  ASSERT_TRUE(Register().ok());
  s.Hook(o);
  if (std::getenv("TOPO_CHAT_SIM_TRACE"))
    o.trace = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  int opened = 0;
  auto open = o.on_open;
  o.on_open = [&](object::Replica& replica, const SimNode& n) {
    ++opened;
    return open(replica, n);
  };
  auto run = sync::RunSimulation(o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  r = *run;
  const std::string rerun = Rerun(o);
  EXPECT_TRUE(r.converged) << r.problem << rerun;
  EXPECT_TRUE(r.lost_nothing) << r.problem << rerun;
  EXPECT_EQ(r.leaked, 0u) << rerun;
  const int honest = o.nodes - (o.byzantine ? 1 : 0);
  const int members = honest - o.outsiders;
  EXPECT_EQ(r.members, static_cast<uint64_t>(members)) << rerun;
  // Restarts reopened replicas through the hook.
  EXPECT_EQ(opened, o.nodes + static_cast<int>(r.crashes)) << rerun;

  // The same projection on every member, and a real one.
  ASSERT_EQ(r.states.size(), static_cast<size_t>(o.nodes));
  for (int i = 1; i < members; ++i) EXPECT_EQ(r.states[i], r.states[0]) << "node " << i << rerun;
  EXPECT_NE(r.states[0].find("proj_chat_messages"), std::string::npos);
  // The outsiders hold none of the chat: no message, no text.
  for (int i = members; i < honest; ++i) {
    EXPECT_EQ(r.states[i].find("by node"), std::string::npos) << "outsider " << i << rerun;
    EXPECT_TRUE(s.shown[i].empty()) << "outsider " << i << rerun;
  }

  // What a member shows follows the rules, whatever order things arrived in.
  const std::vector<Message>& shown = s.shown[0];
  t.messages = shown.size();
  t.forged_edits = s.forged_edits;
  t.owner_deletes = s.owner_deletes;
  t.reactions_off = s.reactions_off;
  for (const auto& [id, allowed] : s.delete_allowed) t.refused_deletes += !allowed;
  for (const auto& m : shown) {
    EXPECT_EQ(m.text.find("forged"), std::string::npos) << m.text << rerun;
    // Deleted if and only if the author or the owner deleted it; a tombstone keeps no text.
    auto d = s.delete_allowed.find(m.id);
    EXPECT_EQ(m.deleted, d != s.delete_allowed.end() && d->second) << rerun;
    if (m.deleted) {
      ++t.tombstones;
      EXPECT_EQ(m.text, "") << rerun;
      continue;
    }
    // The text shown, first or edited, is its author's own ("... by node N").
    auto author = s.node_of.find(m.author);
    ASSERT_NE(author, s.node_of.end()) << rerun;
    const std::string by = " by node " + std::to_string(author->second);
    EXPECT_EQ(m.text.substr(m.text.size() - std::min(m.text.size(), by.size())), by)
        << m.text << rerun;
    if (m.edited_at) {
      ++t.edited;
      EXPECT_EQ(m.text.rfind("edit ", 0), 0u) << m.text << rerun;
    }
    if (!m.reactions.empty()) ++t.reacted;
    if (m.thread) ++t.replies;
  }
  EXPECT_GT(t.messages, 0u) << rerun;
}

TEST(ChatSim, MembersConvergeOnTheSameChatUnderEveryFault) {
  testing::TempDir dir;
  uint64_t crashes = 0, partitions = 0, lost = 0, duplicated = 0, writes = 0;
  Tally all;
  const char* env = std::getenv("TOPO_CHAT_SIM_SEEDS");
  const uint64_t seeds = env && *env ? std::strtoull(env, nullptr, 10) : 3;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    ChatScenario s;
    sync::SimResult r;
    Tally t;
    RunAndCheck(ForSeed(seed, dir.File("s" + std::to_string(seed))), s, r, t);
    if (HasFatalFailure()) return;
    all.Add(t);
    crashes += r.crashes;
    partitions += r.partitions;
    lost += r.frames_lost;
    duplicated += r.frames_duplicated;
    writes += r.group_writes;
  }
  // The faults did strike (a scenario nothing disturbed proves little).
  EXPECT_GT(crashes, 0u);
  EXPECT_GT(partitions, 0u);
  EXPECT_GT(lost, 0u);
  EXPECT_GT(duplicated, 0u);
  EXPECT_GT(writes, seeds * 30);
  // And it was not trivial: the members show edited text, tombstones, reactions and thread
  // replies, after edits and deletes nobody was allowed to make were written (and, checked
  // above, had no effect), the owner deleted others' messages and reactions were taken back.
  EXPECT_GT(all.edited, 0u);
  EXPECT_GT(all.tombstones, 0u);
  EXPECT_GT(all.reacted, 0u);
  EXPECT_GT(all.replies, 0u);
  EXPECT_GT(all.forged_edits, 0u);
  EXPECT_GT(all.refused_deletes, 0u);
  EXPECT_GT(all.owner_deletes, 0u);
  EXPECT_GT(all.reactions_off, 0u);
}

TEST(ChatSim, AByzantineNodeChangesNothingForTheMembers) {
  testing::TempDir dir;
  SimOptions o = ForSeed(4, dir.File("byzantine"));
  o.nodes = 5;
  o.byzantine = true;
  ChatScenario s;
  sync::SimResult r;
  Tally t;
  RunAndCheck(o, s, r, t);
  EXPECT_GT(r.sessions_ended_by_violation, 0u);  // it did misbehave
  EXPECT_GT(t.edited + t.tombstones + t.reacted + t.replies, 0u);
}

// The chat's writes draw from the run's RNG: one seed is still one run, to the byte.
TEST(ChatSim, OneSeedIsOneRun) {
  testing::TempDir dir;
  ASSERT_TRUE(Register().ok());
  auto run = [&](const std::string& sub) {
    SimOptions o = ForSeed(6, dir.File(sub));
    o.writes = 40;
    ChatScenario s;
    s.Hook(o);
    std::string trace;
    o.trace = [&](const std::string& line) { trace += line + "\n"; };
    auto r = sync::RunSimulation(o);
    EXPECT_TRUE(r.ok());
    if (r.ok() && !r->states.empty()) trace += r->states[0];
    return trace;
  };
  std::string a = run("a"), b = run("b");
  EXPECT_NE(a.find("in the group (app)"), std::string::npos);
  EXPECT_EQ(a, b);
}

// The state check is not vacuous: states that differ among members (here, each node's
// index) keep the run from converging, and the problem names the nodes.
TEST(ChatSim, DifferingStatesAreNotConvergence) {
  testing::TempDir dir;
  SimOptions o = ForSeed(5, dir.File("differ"));
  o.writes = 10;
  o.partitions = 0;
  o.crashes = 0;
  o.max_time_ms = o.write_phase_ms + 10'000;
  ChatScenario s;
  s.Hook(o);
  ASSERT_TRUE(Register().ok());
  o.state = [](object::Replica&, const SimNode& n) -> Result<std::string> {
    return std::to_string(n.index);
  };
  auto r = sync::RunSimulation(o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->converged);
  EXPECT_NE(r->problem.find("app states differ: node 0 and node 1"), std::string::npos)
      << r->problem;
}

}  // namespace
}  // namespace topo::apps::chat
