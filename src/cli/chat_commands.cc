// The team chat's commands (apps/chat): channels, channel create|rename|topic|archive|join|
// leave|invite|remove, dm, send, edit, delete, react, messages, view, search, unread, mark-read, users, peers.
// Each calls the daemon's chat.* method; message references are the short numbers that
// `view` and `messages` show (#12), or an id prefix.
#include <iostream>
#include <sstream>

#include "cli/support.h"
#include "util/clock.h"

namespace topo::cli {
namespace {

using nlohmann::json;

struct ChatArgs {
  std::string channel, name, topic, text, thread, message, emoji, query, author, since, until;
  std::vector<std::string> words, members;
  uint64_t limit = 0;
  bool remove = false, undo = false, all = false, priv = false;
};
ChatArgs cargs;

// Several words given unquoted are one text: `topo send hello there`.
std::string Joined(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

std::string Ago(uint64_t now, uint64_t at) {
  uint64_t s = now > at ? (now - at) / 1000 : 0;
  if (s < 60) return "just now";
  if (s < 3600) return std::to_string(s / 60) + "m ago";
  if (s < 86400) return std::to_string(s / 3600) + "h ago";
  return std::to_string(s / 86400) + "d ago";
}

// One message's lines under its author's heading.
void MessageLines(std::ostringstream& o, const json& m) {
  std::string num = "#" + std::to_string(m["number"].get<int64_t>());
  o << "  " << num << std::string(num.size() < 6 ? 6 - num.size() : 1, ' ');
  if (m["deleted"].get<bool>())
    o << "(deleted)";
  else
    o << m["text"].get<std::string>() << (m["edited"].get<bool>() ? " (edited)" : "");
  o << "\n";
  std::string extra;
  for (const auto& f : m["files"])
    extra += (extra.empty() ? "" : "  ") + std::string("📎 ") + f.value("file", "") + " " +
             f["name"].get<std::string>() + " (" + SizeText(f["size"].get<uint64_t>()) + ")";
  for (const auto& r : m["reactions"])
    if (!m["deleted"].get<bool>())
          extra += (extra.empty() ? "" : "  ") + r["emoji"].get<std::string>() + " " +
                 std::to_string(r["count"].get<uint64_t>());
  uint64_t replies = m["replies"].get<uint64_t>();
  if (replies > 0)
    extra += (extra.empty() ? "" : "  ") + std::to_string(replies) +
             (replies == 1 ? " reply" : " replies");
  if (!m["thread"].is_null())
    extra += (extra.empty() ? "" : "  ") + std::string("in the thread of #") + m["thread"].dump();
  if (!extra.empty()) o << "        " << extra << "\n";
}

// Messages grouped by author: a heading when the author changes or 5 minutes passed.
std::string MessagesText(const json& messages, uint64_t now) {
  std::ostringstream o;
  std::string last_author;
  uint64_t last_at = 0;
  for (const auto& m : messages) {
    std::string author = m["author"];
    uint64_t at = m["created_at"];
    if (author != last_author || at > last_at + 5 * 60 * 1000)
      o << m["author_name"].get<std::string>() << "  " << Ago(now, at) << "\n";
    last_author = author;
    last_at = at;
    MessageLines(o, m);
  }
  return o.str();
}

std::string ChannelLine(const json& c) {
  std::ostringstream o;
  o << "#" << c["name"].get<std::string>();
  if (c.contains("kind") && c["kind"] != "public") o << " (" << c["kind"].get<std::string>() << ")";
  if (c["archived"].get<bool>()) o << " (archived)";
  if (!c["topic"].get<std::string>().empty()) o << " — " << c["topic"].get<std::string>();
  return o.str();
}

json WithChannel(json params) {
  if (!cargs.channel.empty()) params["channel"] = cargs.channel;
  return params;
}

void AddChannelOption(CLI::App* c, const char* what = "Channel: #name, name or id (default: #general)") {
  c->add_option("--channel,-c", cargs.channel, what);
}

}  // namespace

void RegisterChat(CLI::App& app, Globals& g) {
  auto* channels = app.add_subcommand("channels", "List the workspace's channels");
  channels->footer("Example: topo channels");
  channels->callback(Run(g, [&g] {
    json all = Call(g, "chat.channels", json::object());
    std::ostringstream o;
    for (const auto& c : all) {
      o << ChannelLine(c) << "  (" << c["members"].size() << " members, "
        << c["messages"].get<uint64_t>() << " messages";
      if (c["unread"].get<uint64_t>() > 0) o << ", " << c["unread"].get<uint64_t>() << " unread";
      o << (c["joined"].get<bool>() ? ", joined" : "") << ")\n";
    }
    Print(g, all, all.empty() ? "no channels yet (channel create NAME)" : o.str());
  }));

  auto* channel = app.add_subcommand("channel", "Create, rename, archive, join or leave a channel");
  channel->require_subcommand(1);
  auto* create = channel->add_subcommand(
      "create", "Create a public channel and join it, or a private one with its own members");
  create->add_option("name", cargs.name, "Its name: lowercase letters, digits, . _ -")->required();
  create->add_option("--topic", cargs.topic, "What it is for");
  create->add_flag("--private", cargs.priv,
                   "Private: only its members (you, and those you invite) can read it");
  create->add_option("--member,-m", cargs.members, "Add this member to the private channel")
      ->delimiter(',');
  create->footer(
      "Example: topo channel create plans --private -m bob,carol\n"
      "(a public one: topo channel create design --topic 'mockups and reviews')");
  create->callback(Run(g, [&g] {
    json params{{"name", cargs.name}};
    if (!cargs.topic.empty()) params["topic"] = cargs.topic;
    if (cargs.priv) params["private"] = true;
    if (!cargs.members.empty()) params["members"] = cargs.members;
    json c = Call(g, "chat.channel.create", params);
    Print(g, c, "created " + ChannelLine(c));
  }));
  for (bool invite : {true, false}) {
    auto* c = channel->add_subcommand(
        invite ? "invite" : "remove",
        invite ? "Add a workspace member to a private channel (its owner or admins)"
               : "Remove a member from a private channel (a new key: they read nothing after)");
    c->add_option("channel", cargs.channel, "The private channel")->required();
    c->add_option("user", cargs.name, "The member: name or key")->required();
    c->footer(invite ? "Example: topo channel invite plans carol"
                     : "Example: topo channel remove plans carol");
    c->callback(Run(g, [&g, invite] {
      json ch = Call(g, invite ? "chat.channel.invite" : "chat.channel.remove",
                     {{"channel", cargs.channel}, {"user", cargs.name}});
      Print(g, ch,
            (invite ? "added " : "removed ") + cargs.name + (invite ? " to #" : " from #") +
                ch["name"].get<std::string>());
    }));
  }
  auto* rename = channel->add_subcommand("rename", "Rename a channel (its creator or an admin)");
  rename->add_option("channel", cargs.channel, "The channel")->required();
  rename->add_option("name", cargs.name, "Its new name")->required();
  rename->footer("Example: topo channel rename design design-team");
  rename->callback(Run(g, [&g] {
    json c = Call(g, "chat.channel.rename", {{"channel", cargs.channel}, {"name", cargs.name}});
    Print(g, c, "renamed to " + ChannelLine(c));
  }));
  auto* topic = channel->add_subcommand("topic", "Set a channel's topic");
  topic->add_option("channel", cargs.channel, "The channel")->required();
  topic->add_option("topic", cargs.topic, "The topic (\"\" clears it)")->required();
  topic->footer("Example: topo channel topic design 'mockups, reviews, fonts'");
  topic->callback(Run(g, [&g] {
    json c = Call(g, "chat.channel.topic", {{"channel", cargs.channel}, {"topic", cargs.topic}});
    Print(g, c, ChannelLine(c));
  }));
  auto* archive = channel->add_subcommand("archive", "Archive a channel (its creator or an admin)");
  archive->add_option("channel", cargs.channel, "The channel")->required();
  archive->add_flag("--undo", cargs.undo, "Reopen an archived channel");
  archive->footer("Example: topo channel archive old-project");
  archive->callback(Run(g, [&g] {
    json c = Call(g, "chat.channel.archive", {{"channel", cargs.channel}, {"undo", cargs.undo}});
    Print(g, c, ChannelLine(c));
  }));
  for (bool join : {true, false}) {
    auto* c = channel->add_subcommand(join ? "join" : "leave",
                                      join ? "Join a public channel" : "Leave a channel");
    c->add_option("channel", cargs.channel, "The channel")->required();
    c->footer(join ? "Example: topo channel join design" : "Example: topo channel leave design");
    c->callback(Run(g, [&g, join] {
      json ch = Call(g, join ? "chat.channel.join" : "chat.channel.leave",
                     {{"channel", cargs.channel}});
      Print(g, ch, (join ? "joined #" : "left #") + ch["name"].get<std::string>());
    }));
  }

  auto* dm = app.add_subcommand(
      "dm", "Open a direct conversation with one or more members (made the first time)");
  dm->add_option("users", cargs.members, "The other members: names or keys")->required();
  dm->footer(
      "A direct conversation is private: its own members and key epochs. Send to it with\n"
      "the name this prints (topo send -c dm-alice-bob hi).\n"
      "Example: topo dm bob carol");
  dm->callback(Run(g, [&g] {
    json c = Call(g, "chat.dm", {{"users", cargs.members}});
    std::string members;
    for (const auto& m : c["members"]) members += (members.empty() ? "" : ", ") + m.get<std::string>();
    Print(g, c, ChannelLine(c) + " with " + members);
  }));

  auto* send = app.add_subcommand("send", "Send a message (or reply in a thread)");
  AddChannelOption(send);
  send->add_option("--thread,-t", cargs.thread, "Reply in the thread of this message (#N or id)");
  send->add_option("text", cargs.words, "The message (UTF-8, at most 16 KiB)")->required();
  send->footer(
      "Mention people with @name and channels with #name.\n"
      "Example: topo send -c design 'new mockups are up, @bob'");
  send->callback(Run(g, [&g] {
    json params = WithChannel({{"text", Joined(cargs.words)}});
    if (!cargs.thread.empty()) params["thread"] = cargs.thread;
    json j = Call(g, "chat.send", params);
    Print(g, j, j.contains("number") ? "sent #" + std::to_string(j["number"].get<int64_t>()) : "sent");
  }));

  auto* edit = app.add_subcommand("edit", "Edit one of your messages (its history is kept)");
  edit->add_option("message", cargs.message, "The message (#N as view shows it, or id)")->required();
  edit->add_option("text", cargs.words, "The new text")->required();
  edit->footer("Example: topo edit 12 'the meeting is at 3pm'");
  edit->callback(Run(g, [&g] {
    json j = Call(g, "chat.edit", {{"message", cargs.message}, {"text", Joined(cargs.words)}});
    Print(g, j, "edited #" + std::to_string(j["number"].get<int64_t>()));
  }));

  auto* del = app.add_subcommand("delete", "Delete a message (yours, or any as an admin)");
  del->add_option("message", cargs.message, "The message (#N or id)")->required();
  del->footer("Example: topo delete 12");
  del->callback(Run(g, [&g] {
    json j = Call(g, "chat.delete", {{"message", cargs.message}});
    Print(g, j, "deleted #" + std::to_string(j["number"].get<int64_t>()));
  }));

  auto* react = app.add_subcommand("react", "React to a message with an emoji");
  react->add_option("message", cargs.message, "The message (#N or id)")->required();
  react->add_option("emoji", cargs.emoji, "The emoji, e.g. 👍")->required();
  react->add_flag("--remove", cargs.remove, "Take your reaction back");
  react->footer("Example: topo react 12 👍");
  react->callback(Run(g, [&g] {
    json m = Call(g, "chat.react",
                  {{"message", cargs.message}, {"emoji", cargs.emoji}, {"remove", cargs.remove}});
    std::ostringstream o;
    MessageLines(o, m);
    Print(g, m, o.str());
  }));

  auto* messages = app.add_subcommand("messages", "A channel's latest messages, or a thread");
  AddChannelOption(messages);
  messages->add_option("--limit,-n", cargs.limit, "How many (default 50)");
  messages->add_option("--thread,-t", cargs.thread, "Show this message's thread");
  messages->footer("Example: topo messages -c design -n 20");
  messages->callback(Run(g, [&g] {
    json params = WithChannel(json::object());
    if (cargs.limit) params["limit"] = cargs.limit;
    if (!cargs.thread.empty()) params["thread"] = cargs.thread;
    json all = Call(g, "chat.messages", params);
    Print(g, all, all.empty() ? "no messages yet" : MessagesText(all, SystemClock::Instance().NowMs()));
  }));

  auto* view = app.add_subcommand("view", "The channel as a screen: members, messages, reactions");
  AddChannelOption(view);
  view->add_option("--limit,-n", cargs.limit, "How many messages (default 20)");
  view->footer("Example: topo view -c general");
  view->callback(Run(g, [&g] {
    json params = WithChannel(json::object());
    if (cargs.limit) params["limit"] = cargs.limit;
    json v = Call(g, "chat.view", params);
    std::ostringstream o;
    std::string ws = v["workspace"]["name"];
    o << (ws.empty() ? v["workspace"]["id"].get<std::string>().substr(0, 16) : ws) << "  ·  "
      << ChannelLine(v["channel"]) << "\n";
    o << "members:";
    bool first = true;
    for (const auto& m : v["members"]) {
      o << (first ? " " : ", ") << m["name"].get<std::string>()
        << (m["you"].get<bool>() ? " (you)" : "");
      first = false;
    }
    o << "\n" << std::string(60, '-') << "\n";
    if (v["messages"].empty()) o << "no messages yet: topo send 'hello'\n";
    o << MessagesText(v["messages"], v["now"].get<uint64_t>());
    Print(g, v, o.str());
  }));

  auto* search = app.add_subcommand("search", "Search the messages this device can read");
  search->add_option("query", cargs.words, "Words that must all appear")->required();
  search->add_option("--channel,-c", cargs.channel, "Only in this channel");
  search->add_option("--author", cargs.author, "Only by this member (name or key)");
  search->add_option("--since", cargs.since, "Only newer than this, e.g. 7d, 12h");
  search->add_option("--until", cargs.until, "Only older than this, e.g. 1d");
  search->add_option("--limit,-n", cargs.limit, "At most this many (default 20)");
  search->footer("Example: topo search release plan --author bob --since 30d");
  search->callback(Run(g, [&g] {
    json params = WithChannel({{"query", Joined(cargs.words)}});
    if (!cargs.author.empty()) params["author"] = cargs.author;
    if (!cargs.since.empty()) params["since"] = cargs.since;
    if (!cargs.until.empty()) params["until"] = cargs.until;
    if (cargs.limit) params["limit"] = cargs.limit;
    json all = Call(g, "chat.search", params);
    Print(g, all, all.empty() ? "nothing found" : MessagesText(all, SystemClock::Instance().NowMs()));
  }));

  auto* unread = app.add_subcommand("unread", "Unread messages per channel");
  unread->footer("Example: topo unread");
  unread->callback(Run(g, [&g] {
    json all = Call(g, "chat.unread", json::object());
    std::ostringstream o;
    for (const auto& c : all)
      o << "#" << c["name"].get<std::string>() << "  " << c["unread"].get<uint64_t>() << "\n";
    Print(g, all, all.empty() ? "all read" : o.str());
  }));

  auto* mark = app.add_subcommand("mark-read", "Mark a channel (or every channel) read");
  AddChannelOption(mark);
  mark->add_flag("--all", cargs.all, "Every channel");
  mark->footer("Example: topo mark-read -c design");
  mark->callback(Run(g, [&g] {
    json j = Call(g, "chat.mark_read", WithChannel({{"all", cargs.all}}));
    std::ostringstream o;
    for (const auto& c : j["marked"])
      o << "#" << c["name"].get<std::string>() << " read (" << c["was_unread"].get<uint64_t>()
        << " were unread)\n";
    Print(g, j, o.str());
  }));

  auto* users = app.add_subcommand("users", "The workspace's members (as members)");
  users->footer("Example: topo users");
  users->callback(Run(g, [&g] { PrintMembers(g); }));
  auto* peers = app.add_subcommand("peers", "Connected peers (as peer list)");
  peers->footer("Example: topo peers");
  peers->callback(Run(g, [&g] { PrintPeers(g); }));
}

}  // namespace topo::cli
