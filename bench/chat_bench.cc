// topo-bench chat: the team chat at scale (issue 6; benches.h, docs/PERFORMANCE.md).
//
// A workspace group of M member devices with C channels (made through apps::chat::Chat on
// the owner's replica). The generator then writes N posts over the channels as the members
// would (sealed, signed, one chain per channel), with text drawn from a seeded Zipf
// vocabulary so that searches have hits, about a tenth of them replies in threads, and
// reactions, edits and deletes among them. A fresh replica of another member's device
// takes in the workspace (untimed), then ingests every chat vertex, shuffled in windows as
// `ingest` shuffles, with the projection tables and the FTS5 index kept, in a child
// process: events/s and peak RSS. In the same run `ingest` runs on as many vertices of its
// own workload: ingest_ratio = chat events/s / plain events/s. Then, in the child: the
// last 50 messages of a channel (Chat::Messages) and searches of typical words
// (Chat::Search, limit 20), on a freshly opened replica with the file dropped from the page
// cache ("cold") and repeated ("warm").
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <thread>

#include "apps/chat/chat.h"
#include "apps/chat/methods.h"
#include "apps/chat/projector.h"
#include "bench/benches.h"
#include "bench/group_fixture.h"
#include "codec/object_payload.h"
#include "object/group_keys.h"

namespace topo::bench {
namespace {

using apps::chat::Entry;

// A vocabulary of pseudo-words drawn with Zipf frequencies (s = 1): word 0 is the most
// common. The same seed gives the same words, so the child knows what to search for.
class Words {
 public:
  Words(uint64_t seed, size_t size) {
    static const char* kOnsets[] = {"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s",
                                    "t", "v", "z", "br", "st", "tr", "sk", "pl", "ch"};
    static const char* kVowels[] = {"a", "e", "i", "o", "u", "ai", "ou", "ea"};
    static const char* kCodas[] = {"", "", "", "n", "r", "s", "t", "l", "nd", "st"};
    std::mt19937_64 rng(seed ^ 0x776f726473ULL);
    std::set<std::string> seen;
    while (words_.size() < size) {
      const size_t syllables = 1 + rng() % (words_.size() < 100 ? 2 : 3);
      std::string w;
      for (size_t s = 0; s < syllables; ++s)
        w += std::string(kOnsets[rng() % std::size(kOnsets)]) + kVowels[rng() % std::size(kVowels)] +
             kCodas[rng() % std::size(kCodas)];
      if (seen.insert(w).second) words_.push_back(std::move(w));
    }
    double sum = 0;
    for (size_t r = 0; r < size; ++r) {
      sum += 1.0 / static_cast<double>(r + 1);
      cdf_.push_back(sum);
    }
    for (double& c : cdf_) c /= sum;
  }
  const std::string& word(size_t rank) const { return words_.at(rank); }
  size_t size() const { return words_.size(); }
  // Of 4 to 40 words, most near 10, some punctuation: about 70 bytes.
  std::string Sentence(std::mt19937_64& rng) const {
    std::uniform_real_distribution<double> u(0, 1);
    const size_t n = 4 + static_cast<size_t>(std::min(36.0, -std::log(1 - u(rng)) * 8));
    std::string s;
    for (size_t i = 0; i < n; ++i) {
      size_t rank = static_cast<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u(rng)) -
                                        cdf_.begin());
      if (!s.empty()) s += rng() % 12 == 0 ? ", " : " ";
      s += words_[std::min(rank, words_.size() - 1)];
    }
    s += rng() % 5 == 0 ? "?" : ".";
    return s;
  }

 private:
  std::vector<std::string> words_;
  std::vector<double> cdf_;
};

constexpr size_t kVocabulary = 20'000;
// The searches timed: typical words (neither the commonest nor unseen), one or two of
// them; and, apart, the two commonest words (the worst case: most messages match).
const std::vector<std::vector<size_t>> kTypicalQueries = {
    {40}, {100}, {250}, {600}, {1500}, {4000}, {60, 700}, {150, 2000}, {30, 90}};
const std::vector<std::vector<size_t>> kCommonQueries = {{0}, {1}};

std::string QueryText(const Words& words, const std::vector<size_t>& ranks) {
  std::string q;
  for (size_t r : ranks) q += (q.empty() ? "" : " ") + words.word(r);
  return q;
}

// What the generator wrote, for the child's tables to be checked against.
struct Expected {
  uint64_t posts = 0, replies = 0, edits = 0, deletes = 0, reactions = 0;
  uint64_t vertices = 0;
};

// One channel as the generator sees it: its chain tip and recent messages.
struct ChannelTip {
  codec::ObjectId id;
  codec::VertexId tip;
  uint64_t depth = 0;
  struct Recent {
    codec::VertexId id;
    unsigned author;
    bool root;
  };
  std::vector<Recent> recent;  // the last kRecent posts, oldest first
};
constexpr size_t kRecent = 64;

struct Workspace {
  codec::ObjectId group;
  std::vector<ChannelTip> channels;
  std::vector<codec::VertexId> group_heads;  // sorted
  codec::VertexId epoch;
  crypto::SecretBytes key;
  uint64_t last_created_at = 0;
};

// The workspace on the owner's replica, written to `setup_path` as a bundle.
Workspace MakeWorkspace(const std::string& db, const std::vector<Member>& members,
                        unsigned channels, const std::string& setup_path) {
  auto owner = OpenAt(db, members[0]);
  Workspace w;
  w.group = MakeGroup(*owner, members, /*history_visible=*/true);
  apps::chat::Chat chat(*owner, members[0].user.public_key());
  std::vector<codec::ObjectId> ids{Check(chat.EnsureGeneral(w.group), "#general")};
  static const char* kNames[] = {"random", "dev", "design", "ops", "support", "sales",
                                 "marketing", "hiring", "releases", "security", "docs", "infra",
                                 "mobile", "web", "data", "qa", "legal", "finance", "events"};
  for (unsigned c = 1; c < channels; ++c) {
    std::string name = c - 1 < std::size(kNames) ? kNames[c - 1] : "team-" + std::to_string(c);
    ids.push_back(Check(chat.CreateChannel(w.group, name, "the " + name + " channel"),
                        "channel #" + name));
  }
  for (const auto& id : ids) {
    auto heads = Check(owner->Heads(id), "channel heads");
    Expect(heads.size() == 1, "a channel made on one replica has one head");
    auto meta = Check(owner->graph_store().GetMeta(heads[0]), "channel head");
    Expect(meta.has_value(), "the channel head is stored");
    w.channels.push_back(ChannelTip{id, heads[0], meta->depth, {}});
    w.last_created_at = std::max(w.last_created_at, meta->created_at);
  }
  w.group_heads = (*owner->engine().GroupIndexOf(w.group))->Heads();
  std::sort(w.group_heads.begin(), w.group_heads.end());
  auto st = Check(owner->GroupStateOf(w.group), "group state");
  w.epoch = st.current_epoch();
  const crypto::SecretBytes* key = owner->engine().KeyringOf(w.group).KeyFor(w.epoch);
  Expect(key != nullptr, "the owner holds the epoch key");
  w.key = crypto::SecretBytes::CopyOf(key->view());
  Check(owner->ExportBundle(setup_path), "exporting the workspace");
  return w;
}

// Writes the chat's vertices to a bundle: `messages` posts, and reactions, edits and
// deletes among them, by members[0 .. authors - 1].
Expected GenerateChat(Workspace& w, const std::vector<Member>& members, unsigned authors,
                      uint64_t messages, uint64_t seed, const Words& words,
                      SignedBundleWriter& out) {
  std::mt19937_64 rng(seed);
  Expected e;
  uint64_t now = w.last_created_at + 1000;
  static const char* kEmoji[] = {"👍", "🎉", "❤️", "😂", "👀", "🚀"};
  while (e.posts < messages) {
    ChannelTip& ch = w.channels[rng() % w.channels.size()];
    unsigned a = static_cast<unsigned>(rng() % authors);
    now += 1 + rng() % 1000;
    const unsigned roll = static_cast<unsigned>(rng() % 1000);
    Entry entry;
    bool post = false;
    if (roll < 50 && !ch.recent.empty()) {  // 5% reactions, by anyone
      const auto& target = ch.recent[rng() % ch.recent.size()];
      entry = apps::chat::React{target.id, kEmoji[rng() % std::size(kEmoji)], true};
      ++e.reactions;
    } else if (roll < 60 && !ch.recent.empty()) {  // 1% edits, by the message's author
      const auto& target = ch.recent[rng() % ch.recent.size()];
      a = target.author;
      entry = apps::chat::Edit{target.id, words.Sentence(rng)};
      ++e.edits;
    } else if (roll < 62 && !ch.recent.empty()) {  // 0.2% deletes, by the message's author
      const size_t i = rng() % ch.recent.size();
      a = ch.recent[i].author;
      entry = apps::chat::Delete{ch.recent[i].id};
      ch.recent.erase(ch.recent.begin() + static_cast<ptrdiff_t>(i));
      ++e.deletes;
    } else {
      apps::chat::Post p;
      p.text = words.Sentence(rng);
      std::vector<const ChannelTip::Recent*> roots;
      for (const auto& r : ch.recent)
        if (r.root) roots.push_back(&r);
      if (!roots.empty() && rng() % 10 == 0) {  // a tenth are replies in a recent thread
        p.thread = roots[rng() % roots.size()]->id;
        ++e.replies;
      }
      entry = std::move(p);
      post = true;
      ++e.posts;
    }
    Check(apps::chat::CheckEntry(entry), "generated entry");
    codec::Vertex v;
    v.type = codec::kCrdtOpType;
    v.object_id = ch.id;
    v.parents = {ch.tip};
    v.depth = ++ch.depth;
    v.created_at = now;
    v.author = members[a].key.public_key();
    v.refs = w.group_heads;
    const Bytes plain = codec::EncodeOpPayload(
        {apps::chat::kEventsField,
         codec::CrdtOp{codec::LogAppend{apps::chat::EncodeEntry(entry)}}});
    v.payload = Check(object::SealContent(v, w.epoch, w.key, plain), "seal");
    Check(codec::CheckVertexShape(v), "generated vertex");
    v.id = codec::ComputeVertexId(v);
    ch.tip = v.id;
    if (post) {
      const bool root = !std::get<apps::chat::Post>(entry).thread.has_value();
      ch.recent.push_back({v.id, a, root});
      if (ch.recent.size() > kRecent) ch.recent.erase(ch.recent.begin());
    }
    out.Add(std::move(v), members[a].key);
    ++e.vertices;
  }
  return e;
}

// Median and max of a sample, in ms.
Json Summary(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return Json{{"median", Percentile(ms, 0.5)},
              {"p90", Percentile(ms, 0.9)},
              {"max", ms.empty() ? 0.0 : ms.back()},
              {"runs", ms.size()}};
}

uint64_t Count(object::Replica& r, const std::string& sql) {
  auto& st = r.database().Prepare(sql);
  bool row = Check(st.Step(), sql);
  uint64_t n = row ? static_cast<uint64_t>(st.Int64(0)) : 0;
  st.Reset();
  return n;
}

}  // namespace

Json RunChat(const ChatOptions& options) {
  Check(apps::chat::RegisterApp(), "registering the chat app");
  Expect(options.channels >= 1, "--channels is at least 1");
  Expect(options.members >= 2, "--members is at least 2 (the authors and the receiver)");
  TempDir dir("chat");
  if (options.keep) {
    dir.Keep();
    std::fprintf(stderr, "chat: keeping %s\n", dir.path().c_str());
  }
  std::vector<Member> members;
  for (unsigned i = 0; i < options.members; ++i) members.emplace_back(options.seed, i);
  const std::string setup = dir.File("workspace.bundle");
  const std::string generated = dir.File("chat.bundle");
  const std::string shuffled = dir.File("chat-shuffled.bundle");

  Stopwatch gen_clock;
  Workspace w = MakeWorkspace(dir.File("owner.db"), members, options.channels, setup);
  const Words words(options.seed, kVocabulary);
  // Roughly: posts plus 6% reactions, edits and deletes.
  SignedBundleWriter writer(generated, "generate chat", options.messages * 106 / 100);
  // The last member is the receiver; the others write.
  Expected e = GenerateChat(w, members, options.members - 1, options.messages, options.seed,
                            words, writer);
  writer.Finish();
  const double gen_s = gen_clock.Seconds();
  WriteShuffled(generated, writer.records(), options.window, options.seed + 1, shuffled);
  writer.records() = {};

  const std::string load_before = LoadAverage();
  std::vector<std::string> args{
      "chat-child", "--setup", setup, "--bundle", shuffled, "--db", dir.File("receiver.db"),
      "--seed", std::to_string(options.seed), "--member", std::to_string(options.members - 1),
      "--events", std::to_string(e.vertices), "--threads", std::to_string(options.threads),
      "--chunk", std::to_string(options.chunk)};
  for (const auto& sql : options.sql) args.insert(args.end(), {"--sql", sql});
  ChildResult child = RunChild(args);
  const std::string load_mid = LoadAverage();
  const Json& c = child.output;
  Expect(c["messages"] == e.posts, "every post has a row (" + c["messages"].dump() + " of " +
                                       std::to_string(e.posts) + ")");
  Expect(c["replies"] == e.replies, "every reply is in its thread");
  Expect(c["deleted"] == e.deletes, "every delete took effect");
  Expect(c["edited"].get<uint64_t>() <= e.edits, "no more edited messages than edits");
  Expect(c["reaction_rows"].get<uint64_t>() <= e.reactions, "no more reactions than written");
  const double chat_per_s = static_cast<double>(e.vertices) / c["ingest_s"].get<double>();

  Json plain;
  if (!options.skip_plain) {
    std::fprintf(stderr, "chat: the plain ingest workload, %llu vertices\n",
                 static_cast<unsigned long long>(e.vertices));
    IngestOptions p;
    p.shape.events = e.vertices;
    p.shape.seed = options.seed;
    p.window = options.window;
    p.threads = options.threads;
    p.chunk = options.chunk;
    plain = RunIngest(p);
  }
  const double plain_per_s = plain.is_null() ? 0.0 : plain["events_per_s"].get<double>();
  const double ratio = plain_per_s > 0 ? chat_per_s / plain_per_s : 0.0;
  const uint64_t peak_rss_kb = c["ingest_peak_rss_kb"].get<uint64_t>();
  const Json& view = c["view_ms"];
  const Json& search = c["search_ms"];

  Json r;
  r["messages"] = e.posts;
  r["channels"] = options.channels;
  r["events"] = e.vertices;
  r["ingest_events_per_s"] = chat_per_s;
  r["plain_ingest_events_per_s"] = plain_per_s;
  r["ingest_ratio"] = ratio;
  r["view_ms"] = view["warm"]["median"];
  r["view_max_ms"] = view["warm"]["max"];
  r["view_cold_ms"] = view["cold"]["median"];
  r["search_ms"] = search["warm"]["median"];
  r["search_max_ms"] = search["warm"]["max"];
  r["search_cold_ms"] = search["cold"]["median"];
  r["search_common_ms"] = search["common"]["median"];
  r["peak_rss_mib"] = static_cast<double>(peak_rss_kb) / 1024;
  Json d;
  d["ingest_s"] = c["ingest_s"];
  d["ingest_cpu_s"] = c["ingest_cpu_s"];
  d["events_per_cpu_s"] = static_cast<double>(e.vertices) / c["ingest_cpu_s"].get<double>();
  if (!plain.is_null()) {
    d["plain_events_per_cpu_s"] = plain["detail"]["events_per_cpu_s"];
    d["plain_peak_rss_kb"] = plain["peak_rss_kb"];
    d["plain_ingest_s"] = plain["ingest_s"];
    d["plain_load_average_after"] = plain["detail"]["load_average_after"];
  }
  d["load_average_before"] = load_before;
  d["load_average_mid"] = load_mid;
  d["load_average_after"] = LoadAverage();
  d["threads"] = c["threads"];
  d["window"] = options.window == 0 ? Json("whole set") : Json(options.window);
  if (!options.sql.empty()) d["sql"] = options.sql;
  d["posts"] = e.posts;
  d["thread_replies"] = e.replies;
  d["reactions"] = e.reactions;
  d["edits"] = e.edits;
  d["deletes"] = e.deletes;
  d["authors"] = options.members - 1;
  d["db_bytes_per_event"] = c["db_bytes"].get<double>() / static_cast<double>(e.vertices);
  d["peak_rss_kb_at_end"] = c["peak_rss_kb_at_end"];
  d["view"] = view;
  d["search"] = search;
  d["generate_s"] = gen_s;
  r["detail"] = std::move(d);
  const bool at_size = e.posts >= 1'000'000;
  r["goal"] = Json{
      {"view", "< 20 ms"},
      {"view_met", GoalVerdict(at_size, view["warm"]["median"].get<double>() < 20, "1,000,000")},
      {"search", "< 50 ms"},
      {"search_met",
       GoalVerdict(at_size, search["warm"]["median"].get<double>() < 50, "1,000,000")},
      {"ingest_ratio", ">= 0.8"},
      {"ingest_ratio_met", plain.is_null() ? Json("not measured (--skip-plain)")
                                           : GoalVerdict(at_size, ratio >= 0.8, "1,000,000")}};
  return r;
}

Json RunChatChild(const ChatChildOptions& options) {
  Check(apps::chat::RegisterApp(), "registering the chat app");
  const Member me(options.seed, options.member);
  auto replica = OpenAt(options.db, me);
  auto setup = Check(replica->ImportBundle(options.setup), "importing the workspace");
  Expect(setup.problems.empty(), "the workspace imports cleanly");
  auto groups = Check(replica->ListGroups(), "groups");
  Expect(groups.size() == 1, "the receiver holds one workspace");
  const codec::ObjectId workspace = groups[0];

  for (const auto& sql : options.sql) Check(replica->database().Exec(sql), sql);

  const ChunkedIngest run =
      IngestInChunks(*replica, options.bundle, options.chunk, options.events, "chat ingest");
  const double seconds = run.seconds;
  const double cpu_s = run.cpu_s;
  const uint64_t ingest_peak_rss_kb = PeakRssKb();
  Expect(Check(replica->graph_store().BlockedCount(), "blocked") == 0, "no vertex still blocked");

  Json r;
  r["ingest_s"] = seconds;
  r["ingest_cpu_s"] = cpu_s;
  r["ingest_peak_rss_kb"] = ingest_peak_rss_kb;
  r["threads"] =
      options.threads ? options.threads : std::max(1u, std::thread::hardware_concurrency());
  r["messages"] = Count(*replica, "SELECT COUNT(*) FROM proj_chat_messages");
  r["replies"] = Count(*replica, "SELECT COUNT(*) FROM proj_chat_messages WHERE thread IS NOT NULL");
  r["deleted"] = Count(*replica, "SELECT COUNT(*) FROM proj_chat_messages WHERE deleted = 1");
  r["edited"] = Count(*replica, "SELECT COUNT(*) FROM proj_chat_messages WHERE edited_at IS NOT NULL");
  r["reaction_rows"] = Count(*replica, "SELECT COUNT(*) FROM proj_chat_reactions");
  Check(replica->database().Exec("PRAGMA wal_checkpoint(TRUNCATE)"), "checkpoint");
  r["db_bytes"] = FileSize(options.db) + FileSize(options.db + "-wal");

  auto chat = [&] { return apps::chat::Chat(*replica, me.user.public_key()); };
  auto channels = Check(chat().Channels(workspace), "channels");
  Expect(!channels.empty(), "the workspace has channels");
  const Words words(options.seed, kVocabulary);

  auto view = [&](const apps::chat::Channel& ch) {
    Stopwatch t;
    auto got = Check(chat().Messages(ch.id, 50, std::nullopt), "view #" + ch.name);
    const double ms = t.Ms();
    // Replies are not in the view: a channel of 100 messages has 50 that are not.
    Expect(got.size() <= 50 && (got.size() == 50 || ch.messages < 100), "a view of 50 messages");
    return ms;
  };
  Json hits = Json::object();  // per query: messages found (at most the limit)
  Json slowest = Json::object();  // per query: its slowest warm run, ms
  auto search = [&](const std::vector<size_t>& ranks) {
    apps::chat::SearchQuery q;
    q.text = QueryText(words, ranks);
    q.limit = 20;
    Stopwatch t;
    auto got = Check(chat().Search(workspace, q), "search " + q.text);
    const double ms = t.Ms();
    hits[q.text] = got.size();
    slowest[q.text] = std::max(ms, slowest.value(q.text, 0.0));
    return ms;
  };
  // Cold: the replica just opened, its file out of the page cache.
  auto reopen = [&] {
    replica.reset();
    DropFromPageCache(options.db);
    replica = OpenAt(options.db, me);
  };
  std::vector<double> view_cold, search_cold;
  for (size_t i = 0; i < 3; ++i) {
    reopen();
    view_cold.push_back(view(channels[i % channels.size()]));
  }
  for (size_t i = 0; i < 3; ++i) {
    reopen();
    search_cold.push_back(search(kTypicalQueries[i]));
  }
  slowest = Json::object();  // warm runs only
  std::vector<double> view_warm, search_warm, search_common;
  for (int rep = 0; rep < 5; ++rep)
    for (const auto& ch : channels) view_warm.push_back(view(ch));
  for (int rep = 0; rep < 3; ++rep)
    for (const auto& q : kTypicalQueries) search_warm.push_back(search(q));
  for (int rep = 0; rep < 2; ++rep)
    for (const auto& q : kCommonQueries) search_common.push_back(search(q));

  r["view_ms"] = Json{{"cold", Summary(view_cold)}, {"warm", Summary(view_warm)}};
  r["search_ms"] = Json{{"cold", Summary(search_cold)},
                        {"warm", Summary(search_warm)},
                        {"common", Summary(search_common)},
                        {"hits", hits},
                        {"slowest", slowest}};
  r["db_bytes_after"] = FileSize(options.db);
  r["peak_rss_kb_at_end"] = PeakRssKb();
  return r;
}

}  // namespace topo::bench
