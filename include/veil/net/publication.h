// Model publication (docs/net.md): a model owner writes each segment of a model as its own
// .veil file and publishes a signed ModelRecord naming each segment's digest, size and
// fetch URI; a node fetches only the segments it hosts and serves one only after its
// StandaloneSegmentDigest matches the record.
//
// Fetch URIs are file:// URIs in this version (a shared or local file system, as `veil up`
// uses); other schemes are refused with Unsupported.
#pragma once

#include <string>

#include "veil/graph.h"
#include "veil/registry/identity.h"
#include "veil/registry/records.h"
#include "veil/registry/registry.h"
#include "veil/status.h"

namespace veil::net {

// Writes <store_dir>/<name>.veil (the whole model, what a client loads) and
// <store_dir>/<name>/segment-<i>.veil for every segment, then publishes the model record
// signed by `owner`. `graph` must have at least 3 segments. Returns the record published.
Result<registry::ModelRecord> PublishModel(registry::Registry& registry,
                                           const registry::Identity& owner, const Graph& graph,
                                           const std::string& store_dir);

// Fetches segment `index` of `model` and verifies its size and digest.
Result<Graph> FetchSegment(const registry::ModelRecord& model, int index);

// The local path of a file:// URI; Unsupported for any other scheme.
Result<std::string> FileUriPath(const std::string& uri);

}  // namespace veil::net
