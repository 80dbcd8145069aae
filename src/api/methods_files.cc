// file.* methods: files added here are chunked, encrypted and stored (node/files.h); saving
// one fetches the chunks this node lacks from its connected peers (node/chunk_exchange.h)
// and writes the exact bytes back. docs/PROTOCOL.md section 15 has the formats.
//
// file.save does not hold the loop while chunks travel: each call takes the fetch one step
// (starts it, reports its progress, or writes the file once every chunk is here) and
// returns at once; a client calls again until `state` is "saved" (the CLI does, every
// 100 ms). An interrupted save resumes where it stopped: chunks already held are not
// fetched again.
#include "api/methods.h"
#include "codec/file.h"
#include "node/files.h"
#include "store/file_store.h"
#include "util/clock.h"
#include "util/encoding.h"

namespace topo::api {
namespace {

store::FileStore Files(node::Node& n) {
  auto* r = Check(n.replica());
  return Check(store::FileStore::Open(r->database()));
}

// "topo-file:..." or {"manifest": hex, "key": hex}.
codec::FileRef RefParam(const json& params) {
  if (!params.contains("ref"))
    throw Failure{Status::InvalidArgument("missing parameter \"ref\": a file reference")};
  const json& ref = params["ref"];
  if (ref.is_string()) return Check(codec::ParseFileRef(ref.get<std::string>()));
  if (ref.is_object() && ref.contains("manifest") && ref.contains("key") &&
      ref["manifest"].is_string() && ref["key"].is_string()) {
    auto manifest = HexDecodeFixed<32>(ref["manifest"].get<std::string>());
    auto key = HexDecodeFixed<32>(ref["key"].get<std::string>());
    if (manifest.ok() && key.ok())
      return codec::FileRef{*manifest, crypto::SecretBytes::CopyOf(key->view())};
  }
  throw Failure{Status::InvalidArgument(
      "\"ref\" must be a topo-file: reference or {\"manifest\": 64 hex, \"key\": 64 hex}")};
}

json RefJson(const codec::FileRef& ref) {
  return {{"ref", codec::EncodeFileRef(ref)},
          {"manifest", HexEncode(ref.manifest.view())},
          {"key", HexEncode(ref.key.view())}};
}

json ManifestJson(const codec::FileManifest& m) {
  return {{"name", m.name},
          {"mime", m.mime},
          {"size", m.size},
          {"chunks", m.chunks.size()},
          {"chunk_size", m.chunk_size()}};
}

json ProgressJson(const node::FetchProgress& p) {
  return {{"total", p.total},         {"held", p.held},         {"fetched", p.fetched},
          {"in_flight", p.in_flight}, {"rejected", p.rejected}, {"done", p.done}};
}

uint64_t Percent(uint64_t held, uint64_t total) { return total ? held * 100 / total : 100; }

json FileSave(node::Node& n, const json& params) {
  codec::FileRef ref = RefParam(params);
  const std::string path = Check(StringParam(params, "path"));
  const bool force = Check(BoolParam(params, "force", false));
  Check(node::CheckDestination(path, force));
  store::FileStore files = Files(n);
  node::Network* net = n.network();
  const codec::ChunkAddress job = ref.manifest;
  auto need_network = [&](const std::string& what) {
    if (!net)
      throw Failure{Status::NotFound(what + " is not held here, and this node has no network")};
  };
  // A fetch that failed is reported once; the next call tries again.
  auto progress = net ? net->ChunkFetchProgress(job) : std::nullopt;
  if (progress && progress->failed) {
    net->ForgetChunkFetch(job);
    throw Failure{*progress->failed};
  }
  json out = RefJson(ref);
  out.erase("key");
  auto manifest = node::OpenManifest(files, ref);
  if (!manifest.ok() && manifest.status().code() == Code::kNotFound) {
    need_network("the file's manifest");
    Check(net->FetchChunks(job, {ref.manifest}));
    out["state"] = "fetching";
    out["stage"] = "manifest";
    out["percent"] = 0;
    return out;
  }
  const codec::FileManifest& m = Check(std::move(manifest));
  out.update(ManifestJson(m));
  // While a fetch of the chunks runs, its progress answers; otherwise look at the store.
  if (!(progress && !progress->done && progress->total == m.chunks.size())) {
    auto holding = Check(files.Check(m.chunks));
    if (!holding.missing.empty()) {
      need_network("chunk " + HexEncode(holding.missing.front().view()) + " (" +
                   std::to_string(holding.missing.size()) + " of " +
                   std::to_string(m.chunks.size()) + " chunks missing)");
      Check(net->FetchChunks(job, m.chunks));
      progress = net->ChunkFetchProgress(job);
    } else if (progress && !progress->done) {
      progress.reset();  // held by other means meanwhile; a finished fetch keeps its figures
    }
  }
  if (progress && progress->failed) {
    net->ForgetChunkFetch(job);
    throw Failure{*progress->failed};
  }
  if (progress && !progress->done) {
    out["state"] = "fetching";
    out["stage"] = "chunks";
    out["held"] = progress->held;
    out["percent"] = Percent(progress->held, progress->total);
    out["fetch"] = ProgressJson(*progress);
    return out;
  }
  Check(node::WriteFile(files, ref, m, path, force));
  if (net) net->ForgetChunkFetch(job);
  store::StoredFile f;
  f.manifest = ref.manifest;
  f.key = Bytes(ref.key.view().begin(), ref.key.view().end());
  f.name = m.name;
  f.mime = m.mime;
  f.size = m.size;
  f.chunks = m.chunks.size();
  f.origin = "saved";
  f.added_at_ms = SystemClock::Instance().NowMs();
  f.path = path;
  if (auto known = files.Find(ref.manifest); known.ok() && *known && (*known)->origin == "added")
    f.origin = "added";  // saving a file added here keeps it listed as added
  Check(files.Remember(f));
  n.log().Info("file " + HexEncodeShort(ref.manifest) + ": saved " + std::to_string(m.size) +
               " bytes to " + path);
  out["state"] = "saved";
  out["path"] = path;
  out["held"] = m.chunks.size();
  out["percent"] = 100;
  if (progress) out["fetch"] = ProgressJson(*progress);
  return out;
}

json FileStatus(node::Node& n, const json& params) {
  codec::FileRef ref = RefParam(params);
  store::FileStore files = Files(n);
  json out = RefJson(ref);
  out.erase("key");
  auto manifest = node::OpenManifest(files, ref);
  if (!manifest.ok() && manifest.status().code() != Code::kNotFound) Check(manifest.status());
  out["manifest_held"] = manifest.ok();
  node::Network* net = n.network();
  auto progress = net ? net->ChunkFetchProgress(ref.manifest) : std::nullopt;
  out["fetch"] = progress ? ProgressJson(*progress) : json(nullptr);
  if (progress && progress->failed) out["fetch"]["failed"] = progress->failed->message();
  if (!manifest.ok()) {
    out["complete"] = false;
    return out;
  }
  out.update(ManifestJson(*manifest));
  auto holding = Check(files.Check(manifest->chunks));
  json missing = json::array();
  for (size_t i = 0; i < holding.missing.size() && i < 16; ++i)
    missing.push_back(HexEncode(holding.missing[i].view()));
  out["held"] = holding.held;
  out["missing_count"] = holding.missing.size();
  out["missing"] = missing;
  out["complete"] = holding.missing.empty();
  return out;
}

}  // namespace

void AddFileMethods(MethodTable& t, node::Node& n) {
  AddMethod(
      t,
      {"file.add",
       "Chunks, encrypts and stores a file; returns the reference that fetches and opens it",
       {{"path", "string, required: the file to add (absolute; read by the daemon)"},
        {"name", "string, optional: the name to record (default: the path's last part)"},
        {"mime", "string, optional: a MIME type to record, e.g. image/png"}},
       "{ref, manifest, key, name, mime, size, chunks, chunk_size}",
       {{"path", "/home/alice/report.pdf"}}},
      [&n](const json& params) {
        std::string path = Check(StringParam(params, "path"));
        if (path.empty() || path[0] != '/')
          throw Failure{Status::InvalidArgument("path must be absolute, not \"" + path + "\"")};
        store::FileStore files = Files(n);
        auto added = Check(node::AddFile(files, path, OptionalString(params, "name").value_or(""),
                                         OptionalString(params, "mime").value_or(""),
                                         SystemClock::Instance().NowMs()));
        n.log().Info("file " + HexEncodeShort(added.ref.manifest) + ": added " + path + " (" +
                     std::to_string(added.manifest.size) + " bytes, " +
                     std::to_string(added.manifest.chunks.size()) + " chunks)");
        json out = RefJson(added.ref);
        out.update(ManifestJson(added.manifest));
        return out;
      });
  AddMethod(t,
            {"file.save",
             "Fetches what is missing of a file from peers and writes it; call again until "
             "state is saved",
             {{"ref", "string or object, required: topo-file:... or {manifest, key}"},
              {"path", "string, required: where to write it (absolute; written by the daemon)"},
              {"force", "bool, optional: replace a file already at path (default false)"}},
             "{state: fetching | saved, stage?: manifest | chunks, ref, manifest, name, size, "
             "chunks, held, percent, fetch?: {total, held, fetched, in_flight, rejected, done}, "
             "path?}",
             {{"ref", "topo-file:ae...(104 base32)"}, {"path", "/home/bob/report.pdf"}}},
            [&n](const json& params) { return FileSave(n, params); });
  AddMethod(t,
            {"file.status",
             "Which chunks of a file are held here, and the fetch in progress if any",
             {{"ref", "string or object, required: topo-file:... or {manifest, key}"}},
             "{ref, manifest, manifest_held, name?, size?, chunks?, held?, missing_count?, "
             "missing?: first 16 addresses, complete, fetch}",
             {{"ref", "topo-file:ae...(104 base32)"}}},
            [&n](const json& params) { return FileStatus(n, params); });
  AddMethod(t,
            {"file.list",
             "Files added or saved here, newest first",
             {},
             "{files: [{ref, manifest, name, mime, size, chunks, origin, added_at, path}]}",
             json::object()},
            [&n](const json&) {
              store::FileStore files = Files(n);
              json all = json::array();
              for (const auto& f : Check(files.List())) {
                codec::FileRef ref{f.manifest, crypto::SecretBytes::CopyOf(f.key)};
                json j = RefJson(ref);
                j.erase("key");
                j.update(json{{"name", f.name},
                              {"mime", f.mime},
                              {"size", f.size},
                              {"chunks", f.chunks},
                              {"origin", f.origin},
                              {"added_at", f.added_at_ms},
                              {"path", f.path}});
                all.push_back(std::move(j));
              }
              return json{{"files", all}};
            });
}

}  // namespace topo::api
