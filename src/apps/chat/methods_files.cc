// Files in the chat: chat.send_file adds a file to the chunk store (file.add) and posts a
// message carrying its reference (chat.send); chat.files lists the files the workspace's
// messages carry; chat.save_file names one by its FILE_ID and saves it (file.save: call
// again until state is "saved"). The three reuse those methods' handlers, so a file sent or
// saved here is exactly one sent or saved with `topo file`.
//
// A FILE_ID is "N.k" (the k-th file of message N, as this device numbers messages), "N"
// for a message with one file, or a hex prefix (6+) of the file's manifest address, which is
// the same on every device.
#include <algorithm>

#include "api/methods.h"
#include "apps/chat/chat.h"
#include "apps/chat/method_ctx.h"
#include "apps/chat/methods.h"
#include "codec/file.h"
#include "store/file_store.h"
#include "util/encoding.h"

namespace topo::apps::chat {
namespace {

// The most files chat.files returns, and searches when resolving a manifest prefix.
constexpr uint64_t kDefaultFiles = 50;
constexpr size_t kMaxFilesSearched = 10'000;

// The channel a post with these params would go to, refused as chat.send would refuse it:
// checked before the file is read, so that a refused send stores nothing.
void CheckTarget(Ctx& x, const json& params) {
  const auto channel_text = api::OptionalString(params, "channel");
  Channel c;
  if (auto root_text = api::OptionalString(params, "thread")) {
    Message root = x.MessageNamed(*root_text);
    c = Check(x.chat.ChannelById(root.channel));
    if (channel_text && x.ChannelNamed(*channel_text).id != c.id)
      throw Failure{Status::InvalidArgument("message " + *root_text + " is in #" + c.name +
                                            ", not in " + *channel_text)};
  } else {
    c = x.ChannelNamed(channel_text.value_or("general"));
  }
  if (c.archived)
    throw Failure{
        Status::Rejected("#" + c.name + " is archived (channel archive --undo reopens it)")};
}

std::string Manifest(const FileAttachment& f) {
  auto ref = codec::ParseFileRef(f.ref);
  return ref.ok() ? HexEncode(ref->manifest.view()) : "";
}

// One file of one message, as chat.files lists it.
json FileJson(Ctx& x, store::FileStore& store, const Message& m, size_t index,
              const std::string& channel_name) {
  const FileAttachment& f = m.files[index];
  json out{{"file", FileId(m.number, index + 1)},
           {"number", m.number},
           {"message", HexEncode(m.id.view())},
           {"ref", f.ref},
           {"manifest", Manifest(f)},
           {"name", f.name},
           {"size", f.size},
           {"channel", HexEncode(m.channel.view())},
           {"channel_name", channel_name},
           {"author", HexEncode(m.author.view())},
           {"author_name", x.Name(m.author)},
           {"you", m.author == x.me()},
           {"created_at", m.created_at},
           {"text", m.text},
           {"local", nullptr},
           {"path", nullptr}};
  // Whether this database added or saved it (one row read; chunks are not counted).
  if (auto ref = codec::ParseFileRef(f.ref); ref.ok())
    if (auto known = store.Find(ref->manifest); known.ok() && *known) {
      out["local"] = (*known)->origin;
      out["path"] = (*known)->path;
    }
  return out;
}

struct Named {
  Message message;
  size_t index;  // into message.files
};

Status NoFile(const std::string& text) {
  return Status::NotFound("no file " + text + " (topo files lists them)");
}

// FILE_ID -> the message and which of its files.
Named ResolveFile(Ctx& x, const std::string& typed) {
  std::string text = typed;
  if (!text.empty() && text[0] == '#') text.erase(0, 1);
  auto digits = [](std::string_view s) {
    return !s.empty() && s.size() <= 18 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
  };
  const size_t dot = text.find('.');
  const std::string number = text.substr(0, dot);
  const std::string index = dot == std::string::npos ? "" : text.substr(dot + 1);
  if (digits(number) && (dot == std::string::npos || digits(index))) {
    auto found = x.chat.FindMessage(number);
    if (!found.ok() && found.status().code() == Code::kNotFound) throw Failure{NoFile(typed)};
    Message m = Check(std::move(found));
    if (Check(x.chat.ChannelById(m.channel)).workspace != x.workspace) throw Failure{NoFile(typed)};
    if (m.files.empty())
      throw Failure{Status::NotFound("message " + number + " carries no file" +
                                     (m.deleted ? " (it was deleted)" : ""))};
    if (index.empty()) {
      if (m.files.size() == 1) return {m, 0};
      throw Failure{Status::InvalidArgument(
          "message " + number + " carries " + std::to_string(m.files.size()) + " files: " +
          FileId(m.number, 1) + " to " + FileId(m.number, m.files.size()) + " name one")};
    }
    const uint64_t k = std::stoull(index);
    if (k == 0 || k > m.files.size())
      throw Failure{Status::NotFound("no file " + typed + ": message " + number + " carries " +
                                     std::to_string(m.files.size()))};
    return {m, static_cast<size_t>(k - 1)};
  }
  std::string prefix = text;
  std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (prefix.size() < 6 || prefix.size() > 64 ||
      !std::all_of(prefix.begin(), prefix.end(), [](unsigned char c) { return std::isxdigit(c); }))
    throw Failure{Status::InvalidArgument(
        "\"" + typed +
        "\" is not a file id (N.k as topo files shows it, or a hex prefix of 6+ "
        "characters of its manifest)")};
  std::optional<Named> hit;
  for (const auto& m : Check(x.chat.WithFiles(x.workspace, std::nullopt, kMaxFilesSearched)))
    for (size_t i = 0; i < m.files.size(); ++i) {
      const std::string manifest = Manifest(m.files[i]);
      if (manifest.rfind(prefix, 0) != 0) continue;
      // The same file posted twice is one file.
      if (hit && Manifest(hit->message.files[hit->index]) != manifest)
        throw Failure{Status::InvalidArgument("\"" + typed + "\" names several files")};
      if (!hit) hit = Named{m, i};
    }
  if (!hit) throw Failure{NoFile(typed)};
  return *hit;
}

}  // namespace

std::string FileId(int64_t number, size_t index) {
  return std::to_string(number) + "." + std::to_string(index);
}

void AddChatFileMethods(api::MethodTable& t, node::Node& n) {
  api::Handler add = t.HandlerOf("file.add");
  api::Handler save = t.HandlerOf("file.save");
  api::Handler send = t.HandlerOf("chat.send");

  api::AddMethod(
      t,
      {"chat.send_file",
       "Adds a file (as file.add) and sends a message carrying it",
       {kWorkspace,
        {"path", "string, required: the file to send (absolute; read by the daemon)"},
        {"channel", "string, optional: #name, name or id prefix (default: #general)"},
        {"thread", "string, optional: the thread's root message (number or id)"},
        {"text", "string, optional: the message (default: the file's name)"},
        {"name", "string, optional: the name to send it under (default: the path's last part)"}},
       "{vertex, number, file, ref, name, size}",
       {{"path", "/home/alice/report.pdf"}, {"channel", "design"}, {"text", "the report"}}},
      [&n, add, send](const json& params) {
        {
          Ctx x(n, params);
          CheckTarget(x, params);
        }
        json file{{"path", Check(api::StringParam(params, "path"))}};
        if (auto name = api::OptionalString(params, "name")) file["name"] = *name;
        json added = Check(add(file));
        json attachment{{"ref", added["ref"]}, {"name", added["name"]}, {"size", added["size"]}};
        json post{{"text",
                   api::OptionalString(params, "text").value_or(added["name"].get<std::string>())},
                  {"files", json::array()}};
        post["files"].push_back(attachment);
        for (const char* key : {"workspace", "channel", "thread"})
          if (params.contains(key)) post[key] = params[key];
        json out = Check(send(post));
        if (out.contains("number")) out["file"] = FileId(out["number"].get<int64_t>(), 1);
        out["ref"] = added["ref"];
        out["name"] = added["name"];
        out["size"] = added["size"];
        return out;
      });

  api::AddMethod(
      t,
      {"chat.files",
       "The files the workspace's messages carry, newest first",
       {kWorkspace,
        {"channel", "string, optional: only this channel"},
        {"limit", "integer, optional: at most this many messages' files (default 50)"}},
       "[{file, number, message, ref, manifest, name, size, channel, channel_name, author, "
       "author_name, you, created_at, text, local: added | saved | null, path}]",
       {{"channel", "design"}}},
      [&n](const json& params) {
        Ctx x(n, params);
        std::optional<codec::ObjectId> only;
        if (auto c = api::OptionalString(params, "channel")) only = x.ChannelNamed(*c).id;
        const uint64_t limit = Check(api::UintParam(params, "limit", kDefaultFiles));
        store::FileStore store = Check(store::FileStore::Open(x.o.r.database()));
        std::vector<std::pair<codec::ObjectId, std::string>> names;  // channel -> name
        json out = json::array();
        for (const auto& m : Check(x.chat.WithFiles(x.workspace, only, limit))) {
          auto known = std::find_if(names.begin(), names.end(),
                                    [&](const auto& p) { return p.first == m.channel; });
          if (known == names.end())
            known =
                names.emplace(names.end(), m.channel, Check(x.chat.ChannelById(m.channel)).name);
          for (size_t i = 0; i < m.files.size(); ++i)
            out.push_back(FileJson(x, store, m, i, known->second));
        }
        return out;
      });

  api::AddMethod(
      t,
      {"chat.save_file",
       "Saves a file a message carries (as file.save: call again until state is saved)",
       {kWorkspace,
        {"file",
         "string, required: N.k as chat.files shows it, N for a message's only file, "
         "or a hex prefix (6+) of its manifest"},
        {"path", "string, required: where to write it (absolute; written by the daemon)"},
        {"force", "bool, optional: replace a file already at path (default false)"}},
       "file.save's result and {file, number}",
       {{"file", "12.1"}, {"path", "/home/bob/report.pdf"}}},
      [&n, save](const json& params) {
        Named named = [&] {
          Ctx x(n, params);
          return ResolveFile(x, Check(api::StringParam(params, "file")));
        }();
        json request{{"ref", named.message.files[named.index].ref},
                     {"path", Check(api::StringParam(params, "path"))}};
        if (params.contains("force")) request["force"] = params["force"];
        json out = Check(save(request));
        out["file"] = FileId(named.message.number, named.index + 1);
        out["number"] = named.message.number;
        return out;
      });
}

}  // namespace topo::apps::chat
