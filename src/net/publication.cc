#include "veil/net/publication.h"

#include <filesystem>
#include <fstream>

#include "veil/model_file.h"

namespace veil::net {

Result<std::string> FileUriPath(const std::string& uri) {
  const std::string scheme = "file://";
  if (uri.rfind(scheme, 0) != 0)
    return Status::Unsupported("fetch URI '" + uri + "': only file:// URIs are supported");
  const std::string path = uri.substr(scheme.size());
  if (path.empty() || path[0] != '/')
    return Status::InvalidArgument("fetch URI '" + uri + "' is not an absolute file:// URI");
  return path;
}

Result<registry::ModelRecord> PublishModel(registry::Registry& registry,
                                           const registry::Identity& owner, const Graph& graph,
                                           const std::string& store_dir) {
  if (!registry::IsValidModelName(graph.name))
    return Status::InvalidArgument("model name '" + graph.name + "' is not a valid registry name");
  const int count = static_cast<int>(graph.EffectiveSegments().size());
  if (count < 3)
    return Status::InvalidArgument("publish a model split into at least 3 segments; " + graph.name +
                                   " has " + std::to_string(count));
  std::error_code ec;
  const std::filesystem::path store = std::filesystem::absolute(store_dir, ec);
  const std::filesystem::path dir = store / graph.name;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir.string() + ": " + ec.message());
  VEIL_RETURN_IF_ERROR(SaveModel(graph, (store / (graph.name + ".veil")).string()));
  registry::ModelRecord record;
  record.name = graph.name;
  record.model_digest = ModelDigest(graph);
  record.owner_key = owner.public_key();
  for (int s = 0; s < count; ++s) {
    VEIL_ASSIGN_OR_RETURN(Graph segment, ExtractSegment(graph, s));
    const std::filesystem::path path = dir / ("segment-" + std::to_string(s) + ".veil");
    VEIL_RETURN_IF_ERROR(SaveModel(segment, path.string()));
    registry::SegmentManifestEntry entry;
    entry.index = static_cast<uint32_t>(s);
    entry.segment_digest = SegmentDigest(graph, s);
    entry.byte_size = std::filesystem::file_size(path, ec);
    if (ec) return Status::IoError("cannot stat " + path.string());
    entry.fetch_uri = "file://" + path.string();
    record.segments.push_back(std::move(entry));
  }
  VEIL_RETURN_IF_ERROR(registry.PublishModel(owner, record));
  return record;
}

Result<Graph> FetchSegment(const registry::ModelRecord& model, int index) {
  if (index < 0 || index >= static_cast<int>(model.segments.size()))
    return Status::NotFound("model " + model.name + " has no segment " + std::to_string(index));
  const registry::SegmentManifestEntry& entry = model.segments[static_cast<size_t>(index)];
  VEIL_ASSIGN_OR_RETURN(std::string path, FileUriPath(entry.fetch_uri));
  std::error_code ec;
  const uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return Status::NotFound("cannot fetch " + entry.fetch_uri + ": " + ec.message());
  if (size != entry.byte_size)
    return Status::Corrupt(entry.fetch_uri + " holds " + std::to_string(size) +
                           " bytes; the model record says " + std::to_string(entry.byte_size));
  VEIL_ASSIGN_OR_RETURN(Graph segment, LoadModel(path));
  if (StandaloneSegmentDigest(segment, index) != entry.segment_digest)
    return Status::Corrupt(entry.fetch_uri + " is not segment " + std::to_string(index) + " of " +
                           model.name + ": its digest does not match the model record");
  return segment;
}

}  // namespace veil::net
