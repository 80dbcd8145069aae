// What the chat's method files share (apps/chat/methods.cc, methods_files.cc): the
// parameters' descriptions and the context every chat method works in. Internal to the
// chat's methods; nothing outside src/apps/chat includes it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "api/methods.h"
#include "apps/chat/chat.h"
#include "node/node.h"
#include "util/encoding.h"

namespace topo::apps::chat {

using api::Check;
using api::Failure;
using api::json;

inline const std::pair<std::string, std::string> kWorkspace{
    "workspace", "string, optional: workspace id or prefix (default: the current one)"};
inline const std::pair<std::string, std::string> kChannel{
    "channel", "string, optional: #name, name or id prefix (default: #general)"};
inline const std::pair<std::string, std::string> kChannelRequired{
    "channel", "string, required: #name, name or id prefix"};
inline const std::pair<std::string, std::string> kMessage{
    "message", "string, required: the message's number (as view shows it) or id prefix"};

inline std::string Str(const json& params, const char* name) { return Check(api::StringParam(params, name)); }

// What every chat method works on: the node's replica and identity, the workspace.
struct Ctx {
  api::Open o;
  codec::ObjectId workspace;
  Chat chat;
  json profiles;
  Ctx(node::Node& n, const json& params)
      : o(api::OpenNode(n)),
        workspace(api::ResolveWorkspace(o.r, params)),
        chat(o.r, o.id.user.public_key()),
        profiles(api::Profiles(o.r, workspace)) {}
  const crypto::PublicKey& me() const { return o.id.user.public_key(); }
  std::string Name(const crypto::PublicKey& user) const {
    std::string name = api::DisplayName(profiles, user);
    return name.empty() ? HexEncodeShort(user) : name;
  }
  Channel ChannelParam(const json& params, bool required = false) {
    auto text = api::OptionalString(params, "channel");
    if (!text && required) throw Failure{Status::InvalidArgument("missing parameter \"channel\"")};
    return Check(chat.FindChannel(workspace, text.value_or("general")));
  }
  Channel ChannelNamed(const std::string& text) { return Check(chat.FindChannel(workspace, text)); }
  // A message of this workspace, by number or id prefix.
  Message MessageNamed(const std::string& text) {
    Message m = Check(chat.FindMessage(text));
    if (Check(chat.ChannelById(m.channel)).workspace != workspace)
      throw Failure{Status::NotFound("message " + text + " is in another workspace")};
    return m;
  }
  Message MessageParam(const json& params) { return MessageNamed(Str(params, "message")); }
  object::GroupState State() { return Check(o.r.GroupStateOf(workspace)); }
  // An admin or owner where `c` lives (the workspace, or a private channel's own group).
  bool IsAdminOf(const Channel& c) {
    auto role = Check(o.r.GroupStateOf(c.group)).RoleOf(me());
    return role && *role != codec::Role::kMember;
  }
  crypto::PublicKey User(const std::string& text) {
    return api::ResolveUser(o.r, workspace, State(), text);
  }
  // "users": an array of names or keys, or one string of them separated by commas.
  std::vector<crypto::PublicKey> Users(const json& params, const char* name) {
    std::vector<std::string> texts;
    if (params.contains(name) && params[name].is_array()) {
      for (const auto& u : params[name]) {
        if (!u.is_string())
          throw Failure{Status::InvalidArgument(std::string("\"") + name +
                                                "\" must hold strings")};
        texts.push_back(u);
      }
    } else if (auto list = api::OptionalString(params, name)) {
      std::string cur;
      for (char ch : *list + ",") {
        if (ch != ',') {
          cur += ch;
        } else if (!cur.empty()) {
          texts.push_back(cur);
          cur.clear();
        }
      }
    }
    std::vector<crypto::PublicKey> out;
    for (const auto& t : texts) {
      std::string u = t;
      if (!u.empty() && u[0] == '@') u.erase(0, 1);
      out.push_back(User(u));
    }
    return out;
  }
  std::vector<std::pair<crypto::PublicKey, std::string>> Names() {
    std::vector<std::pair<crypto::PublicKey, std::string>> out;
    const object::GroupState st = State();
    for (const auto& [user, _] : st.members())
      out.emplace_back(user, api::DisplayName(profiles, user));
    return out;
  }
};

}  // namespace topo::apps::chat
