#include "veil/net/split_inference.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <unordered_map>

#include "veil/model_file.h"

namespace veil::net {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

bool Contains(const std::vector<int>& v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

int IndexOf(const std::vector<int>& v, int x) {
  const auto it = std::find(v.begin(), v.end(), x);
  return it == v.end() ? -1 : static_cast<int>(it - v.begin());
}

// Bytes per token of a tensor [B, T, ...] (its row stride along dim 1).
int64_t TokenStride(const Tensor& t) {
  int64_t n = static_cast<int64_t>(DTypeSize(t.dtype()));
  for (size_t d = 2; d < t.rank(); ++d) n *= t.dim(d);
  return n;
}

// Concatenates tensors [B, t_i, ...] along dim 1.
Tensor ConcatTokens(const std::vector<const Tensor*>& parts) {
  Shape shape = parts[0]->shape();
  int64_t total = 0;
  for (const Tensor* p : parts) total += p->dim(1);
  shape[1] = total;
  Tensor out(parts[0]->dtype(), shape);
  const int64_t stride = TokenStride(*parts[0]);
  int64_t offset = 0;
  for (const Tensor* p : parts) {
    for (int64_t b = 0; b < p->dim(0); ++b)
      std::memcpy(static_cast<uint8_t*>(out.raw()) + (b * total + offset) * stride,
                  static_cast<const uint8_t*>(p->raw()) + b * p->dim(1) * stride,
                  static_cast<size_t>(p->dim(1) * stride));
    offset += p->dim(1);
  }
  return out;
}

// The last `n` tokens of a tensor [B, T, ...].
Tensor LastTokens(const Tensor& t, int64_t n) {
  Shape shape = t.shape();
  shape[1] = n;
  Tensor out(t.dtype(), shape);
  const int64_t stride = TokenStride(t);
  for (int64_t b = 0; b < t.dim(0); ++b)
    std::memcpy(static_cast<uint8_t*>(out.raw()) + b * n * stride,
                static_cast<const uint8_t*>(t.raw()) + (b * t.dim(1) + t.dim(1) - n) * stride,
                static_cast<size_t>(n * stride));
  return out;
}

std::string RandomSessionId() {
  std::random_device rd;
  static const char* kHex = "0123456789abcdef";
  std::string id = "s-";
  for (int i = 0; i < 8; ++i) {
    const uint32_t r = rd();
    id.push_back(kHex[r & 15]);
    id.push_back(kHex[(r >> 4) & 15]);
  }
  return id;
}

}  // namespace

Result<Route> ParseRoute(const std::string& spec) {
  Route route;
  size_t pos = 0;
  while (pos <= spec.size()) {
    size_t comma = spec.find(',', pos);
    if (comma == std::string::npos) comma = spec.size();
    const std::string item = spec.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) {
      if (comma == spec.size()) break;
      return Status::InvalidArgument("route: empty entry in '" + spec + "'");
    }
    const size_t eq = item.find('=');
    if (eq == std::string::npos)
      return Status::InvalidArgument("route: '" + item + "' is not segN=host:port");
    std::string key = item.substr(0, eq);
    if (key.rfind("seg", 0) == 0) key = key.substr(3);
    if (key.empty() || key.size() > 6 ||
        !std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return Status::InvalidArgument("route: bad segment index in '" + item + "'");
    const int index = std::stoi(key);
    if (route.count(index) != 0)
      return Status::InvalidArgument("route: segment " + std::to_string(index) + " given twice");
    std::vector<std::string>& candidates = route[index];
    const std::string addresses = item.substr(eq + 1);
    size_t a = 0;
    while (a <= addresses.size()) {
      size_t bar = addresses.find('|', a);
      if (bar == std::string::npos) bar = addresses.size();
      const std::string address = addresses.substr(a, bar - a);
      a = bar + 1;
      if (address.find(':') == std::string::npos || address.size() < 3)
        return Status::InvalidArgument("route: '" + address + "' is not host:port");
      candidates.push_back(address);
    }
  }
  if (route.empty()) return Status::InvalidArgument("route is empty");
  return route;
}

struct SplitRunner::Impl {
  Graph graph;
  SplitOptions options;
  int count = 0;
  Digest model_digest{};
  std::vector<Digest> segment_digests;
  std::unique_ptr<Session> first, last;  // the client's own segments (extracted graphs)
  std::mutex first_mutex, last_mutex;    // a Session runs one call at a time
  std::vector<int> first_in, first_out, last_in;
  // The chain plan (value ids of the whole graph): what the client sends to the first
  // middle stage, how each later stage picks its inputs/carry, what comes back.
  std::vector<int> head_inputs, head_carry;
  std::vector<Hop> hop_plan;  // stages 2..k (address filled per request)
  std::vector<int> return_ids;
  std::vector<int> return_from;

  std::mutex mutex;  // guards route, dead, clients
  Route route;
  std::set<std::string> dead;
  std::unordered_map<std::string, std::unique_ptr<NodeClient>> clients;
  std::atomic<uint64_t> counter{0};
  std::string request_prefix = RandomSessionId().substr(2);

  Status Plan();
  // Runs `f` on one of the client's own sessions under that session's mutex.
  template <typename F>
  auto Local(const std::unique_ptr<Session>& session, F f) {
    std::lock_guard<std::mutex> lock(&session == &first ? first_mutex : last_mutex);
    return f(*session);
  }
  Result<std::vector<std::string>> PickNodes();
  Result<NodeClient*> Client(const std::string& address);
  Result<ChainReply> CallChain(const std::vector<std::string>& nodes, std::vector<Tensor> inputs,
                               std::vector<Tensor> carry, const std::string& session,
                               int64_t position, std::string* failed);
  Status CheckReturned(const std::vector<Tensor>& values, int64_t batch, int64_t tokens) const;
  // Calls the chain until it succeeds or attempts run out; `replay` rebuilds the call
  // after a failure (generation replays the session's history).
  Result<ChainReply> CallWithFailover(
      const std::function<Result<ChainReply>(const std::vector<std::string>&, bool retry,
                                             std::string*)>& attempt,
      std::vector<Failover>* failovers);
};

Status SplitRunner::Impl::Plan() {
  const std::vector<Segment> segments = graph.EffectiveSegments();
  auto seg_in = [&](int s) { return graph.SegmentInputs(segments[static_cast<size_t>(s)]); };
  auto seg_out = [&](int s) { return graph.SegmentOutputs(segments[static_cast<size_t>(s)]); };
  first_in = seg_in(0);
  first_out = seg_out(0);
  last_in = seg_in(count - 1);
  std::vector<int> client_values = graph.inputs;
  client_values.insert(client_values.end(), first_out.begin(), first_out.end());
  // Values the client's head needs from the middle stages.
  for (int v : last_in)
    if (!Contains(client_values, v)) return_ids.push_back(v);
  // needed_after[j]: values that stages after middle stage j (1-based) read.
  auto needed_after = [&](int j) {
    std::vector<int> need = return_ids;
    for (int s = j + 1; s <= count - 2; ++s)
      for (int v : seg_in(s))
        if (!Contains(need, v)) need.push_back(v);
    return need;
  };
  head_inputs = seg_in(1);
  for (int v : head_inputs)
    if (!Contains(client_values, v))
      return Status::Internal("segment 1 reads a value the client does not have");
  for (int v : needed_after(1))
    if (Contains(client_values, v) && !Contains(return_ids, v)) head_carry.push_back(v);
  std::vector<int> available = seg_out(1);
  available.insert(available.end(), head_carry.begin(), head_carry.end());
  for (int s = 2; s <= count - 2; ++s) {
    Hop hop;
    hop.segment_index = s;
    hop.segment_digest = segment_digests[static_cast<size_t>(s)];
    for (int v : seg_in(s)) {
      const int i = IndexOf(available, v);
      if (i < 0)
        return Status::Internal("segment " + std::to_string(s) + " input " + std::to_string(v) +
                                " is not available along the chain");
      hop.inputs_from.push_back(i);
    }
    std::vector<int> next_available = seg_out(s);
    const std::vector<int> need = needed_after(s);
    for (size_t i = 0; i < available.size(); ++i)
      if (Contains(need, available[i]) && !Contains(next_available, available[i])) {
        hop.carry_from.push_back(static_cast<int>(i));
        next_available.push_back(available[i]);
      }
    available = std::move(next_available);
    hop_plan.push_back(std::move(hop));
  }
  for (int v : return_ids) {
    const int i = IndexOf(available, v);
    if (i < 0) return Status::Internal("value " + std::to_string(v) + " does not reach the head");
    return_from.push_back(i);
  }
  return Status::Ok();
}

Result<std::vector<std::string>> SplitRunner::Impl::PickNodes() {
  std::lock_guard<std::mutex> lock(mutex);
  std::vector<std::string> nodes;
  for (int s = 1; s <= count - 2; ++s) {
    const auto it = route.find(s);
    std::string chosen;
    if (it != route.end())
      for (const std::string& a : it->second)
        if (dead.count(a) == 0) {
          chosen = a;
          break;
        }
    if (chosen.empty())
      return Status::Unavailable("no live node for segment " + std::to_string(s) +
                                 (dead.empty() ? ""
                                               : " (" + std::to_string(dead.size()) +
                                                     " node(s) excluded after failures)"));
    nodes.push_back(chosen);
  }
  return nodes;
}

Result<NodeClient*> SplitRunner::Impl::Client(const std::string& address) {
  std::lock_guard<std::mutex> lock(mutex);
  auto& c = clients[address];
  if (c == nullptr) {
    VEIL_ASSIGN_OR_RETURN(c, NodeClient::Connect(address, options.client));
  }
  return c.get();
}

Result<ChainReply> SplitRunner::Impl::CallChain(const std::vector<std::string>& nodes,
                                                std::vector<Tensor> inputs,
                                                std::vector<Tensor> carry,
                                                const std::string& session, int64_t position,
                                                std::string* failed) {
  SegmentCall call;
  call.request_id = request_prefix + "-" + std::to_string(counter.fetch_add(1));
  call.model_digest = model_digest;
  call.segment_index = 1;
  call.segment_digest = segment_digests[1];
  call.inputs = std::move(inputs);
  call.carry = std::move(carry);
  call.forward = hop_plan;
  for (size_t h = 0; h < call.forward.size(); ++h) call.forward[h].address = nodes[h + 1];
  call.return_from = return_from;
  call.session_id = session;
  call.position = position;
  VEIL_ASSIGN_OR_RETURN(NodeClient * head, Client(nodes[0]));
  return head->Call(call, failed);
}

// The head's inputs from the chain are untrusted: check each against its graph value.
Status SplitRunner::Impl::CheckReturned(const std::vector<Tensor>& values, int64_t batch,
                                        int64_t tokens) const {
  if (values.size() != return_ids.size())
    return Status::Corrupt("chain returned " + std::to_string(values.size()) +
                           " tensors, expected " + std::to_string(return_ids.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    const Value& v = graph.values[static_cast<size_t>(return_ids[i])];
    const Tensor& t = values[i];
    bool ok = t.dtype() == v.dtype && t.rank() == v.shape.size() + 1 && t.dim(0) == batch;
    for (size_t j = 0; ok && j < v.shape.size(); ++j)
      ok = v.shape[j] == kDynamicDim ? (tokens < 0 || t.dim(j + 1) == tokens)
                                     : v.shape[j] == t.dim(j + 1);
    if (!ok)
      return Status::Corrupt("chain returned " + v.name + " with dtype " + DTypeName(t.dtype()) +
                             " dims " + ShapeToString(t.shape()) + ", expected " +
                             DTypeName(v.dtype) + " [B] + " + ShapeToString(v.shape));
  }
  return Status::Ok();
}

Result<ChainReply> SplitRunner::Impl::CallWithFailover(
    const std::function<Result<ChainReply>(const std::vector<std::string>&, bool, std::string*)>&
        attempt,
    std::vector<Failover>* failovers) {
  Status last_error = Status::Internal("no attempt made");
  bool retry = false;
  Clock::time_point failed_at{};
  for (int a = 0; a < options.max_attempts; ++a) {
    Result<std::vector<std::string>> picked = PickNodes();
    if (!picked.ok())
      return a == 0 ? picked.status()
                    : Status::Unavailable(picked.status().message() +
                                          "; last failure: " + last_error.ToString());
    const std::vector<std::string>& nodes = *picked;
    const auto start = Clock::now();
    std::string failed;
    Result<ChainReply> reply = attempt(nodes, retry, &failed);
    if (reply.ok()) {
      if (retry && !failovers->empty()) failovers->back().recovery_ms = MsSince(failed_at);
      return reply;
    }
    last_error = reply.status();
    // A node that lost a session (restart, expiry) is not faulty: replay, same route.
    // Anything else (down, stalled past the deadline, a malformed reply) excludes it.
    const bool stale_session = reply.status().code() == StatusCode::kFailedPrecondition;
    if (!stale_session && reply.status().code() != StatusCode::kUnavailable &&
        reply.status().code() != StatusCode::kCorrupt &&
        reply.status().code() != StatusCode::kNotFound)
      return reply.status();  // the request itself is bad: retrying elsewhere cannot help
    Failover f;
    f.failed_node = stale_session ? "" : failed;
    f.error = reply.status().ToString();
    f.detection_ms = MsSince(start);
    failed_at = Clock::now();
    if (!stale_session && !failed.empty()) {
      std::lock_guard<std::mutex> lock(mutex);
      dead.insert(failed);
    }
    if (options.log)
      options.log(
          "failover: " + (failed.empty() ? std::string("session replay") : "excluding " + failed) +
          " after " + f.error);
    failovers->push_back(std::move(f));
    retry = true;
  }
  return last_error.WithContext("gave up after " + std::to_string(options.max_attempts) +
                                " attempts");
}

SplitRunner::SplitRunner() : impl_(std::make_unique<Impl>()) {}
SplitRunner::~SplitRunner() = default;

Result<std::unique_ptr<SplitRunner>> SplitRunner::Create(const Graph& graph, const Route& route,
                                                         SplitOptions options) {
  std::unique_ptr<SplitRunner> runner(new SplitRunner());
  Impl& impl = *runner->impl_;
  impl.graph = graph;
  impl.options = std::move(options);
  if (impl.options.max_attempts < 1) return Status::InvalidArgument("max_attempts must be >= 1");
  const std::vector<Segment> segments = graph.EffectiveSegments();
  impl.count = static_cast<int>(segments.size());
  if (impl.count < 3)
    return Status::InvalidArgument(
        "U-shaped split needs at least 3 segments (first and last stay local); the model has " +
        std::to_string(impl.count));
  if (impl.count - 2 > 1 + kMaxChainHops)
    return Status::Unsupported("at most " + std::to_string(1 + kMaxChainHops) + " middle segments");
  impl.model_digest = ModelDigest(graph);
  for (int s = 0; s < impl.count; ++s) impl.segment_digests.push_back(SegmentDigest(graph, s));
  for (int s = 1; s <= impl.count - 2; ++s) {
    // U-shape: raw inputs and final outputs never leave the client.
    for (int v : graph.SegmentInputs(segments[static_cast<size_t>(s)]))
      if (Contains(graph.inputs, v))
        return Status::Unsupported("segment " + std::to_string(s) +
                                   " reads a graph input; it cannot run remotely");
    for (int v : graph.SegmentOutputs(segments[static_cast<size_t>(s)]))
      if (Contains(graph.outputs, v))
        return Status::Unsupported("segment " + std::to_string(s) +
                                   " produces a graph output; it cannot run remotely");
  }
  VEIL_RETURN_IF_ERROR(runner->UpdateRoute(route));
  VEIL_RETURN_IF_ERROR(impl.Plan());
  VEIL_ASSIGN_OR_RETURN(Graph first, ExtractSegment(graph, 0));
  VEIL_ASSIGN_OR_RETURN(Graph last, ExtractSegment(graph, impl.count - 1));
  VEIL_ASSIGN_OR_RETURN(impl.first, Session::Create(first, impl.options.session));
  VEIL_ASSIGN_OR_RETURN(impl.last, Session::Create(last, impl.options.session));
  return runner;
}

Status SplitRunner::UpdateRoute(const Route& route) {
  Impl& impl = *impl_;
  for (const auto& [index, addresses] : route) {
    if (index <= 0 || index >= impl.count - 1)
      return Status::InvalidArgument("route names segment " + std::to_string(index) +
                                     ": only the middle segments 1.." +
                                     std::to_string(impl.count - 2) +
                                     " run remotely (the first and last stay with the client)");
    if (addresses.empty())
      return Status::InvalidArgument("route names no node for segment " + std::to_string(index));
  }
  for (int s = 1; s <= impl.count - 2; ++s)
    if (route.count(s) == 0)
      return Status::InvalidArgument("route names no node for segment " + std::to_string(s));
  std::lock_guard<std::mutex> lock(impl.mutex);
  // A node that reappears in a new route gets another chance.
  std::set<std::string> listed;
  for (const auto& [index, addresses] : route) listed.insert(addresses.begin(), addresses.end());
  for (auto it = impl.dead.begin(); it != impl.dead.end();)
    it = impl.route.empty() || listed.count(*it) == 0 ? std::next(it) : impl.dead.erase(it);
  impl.route = route;
  return Status::Ok();
}

Result<std::vector<std::string>> SplitRunner::NextNodes() { return impl_->PickNodes(); }

Result<SplitResult> SplitRunner::Run(const std::vector<Tensor>& inputs) {
  Impl& impl = *impl_;
  const Graph& g = impl.graph;
  if (inputs.size() != g.inputs.size())
    return Status::InvalidArgument("model takes " + std::to_string(g.inputs.size()) +
                                   " input(s), got " + std::to_string(inputs.size()));
  std::unordered_map<int, Tensor> values;
  for (size_t i = 0; i < inputs.size(); ++i) values[g.inputs[i]] = inputs[i];
  auto gather = [&](const std::vector<int>& ids) {
    std::vector<Tensor> out;
    for (int id : ids) out.push_back(values.at(id));
    return out;
  };
  SplitResult result;
  RunTrace first_trace, last_trace;
  VEIL_ASSIGN_OR_RETURN(std::vector<Tensor> first_out, impl.Local(impl.first, [&](Session& s) {
    return s.Run(gather(impl.first_in), &first_trace);
  }));
  for (size_t i = 0; i < first_out.size(); ++i) values[impl.first_out[i]] = std::move(first_out[i]);
  result.stages.push_back({0, impl.segment_digests[0], "local", first_trace.node_digests});

  const int64_t batch = inputs.empty() || inputs[0].rank() == 0 ? 0 : inputs[0].dim(0);
  const std::vector<Tensor> head_inputs = gather(impl.head_inputs);
  const std::vector<Tensor> head_carry = gather(impl.head_carry);
  VEIL_ASSIGN_OR_RETURN(ChainReply reply,
                        impl.CallWithFailover(
                            [&](const std::vector<std::string>& nodes, bool,
                                std::string* failed) -> Result<ChainReply> {
                              VEIL_ASSIGN_OR_RETURN(
                                  ChainReply r,
                                  impl.CallChain(nodes, head_inputs, head_carry, "", 0, failed));
                              if (Status s = impl.CheckReturned(r.outputs, batch, -1); !s.ok()) {
                                *failed = nodes.back();
                                return s;
                              }
                              return r;
                            },
                            &result.failovers));
  for (size_t i = 0; i < reply.outputs.size(); ++i)
    values[impl.return_ids[i]] = std::move(reply.outputs[i]);
  for (StageEvidence& st : reply.stages) result.stages.push_back(std::move(st));
  VEIL_ASSIGN_OR_RETURN(std::vector<Tensor> last_out, impl.Local(impl.last, [&](Session& s) {
    return s.Run(gather(impl.last_in), &last_trace);
  }));
  const std::vector<Segment> segments = g.EffectiveSegments();
  const std::vector<int> last_out_ids = g.SegmentOutputs(segments.back());
  for (size_t i = 0; i < last_out.size() && i < last_out_ids.size(); ++i)
    values[last_out_ids[i]] = std::move(last_out[i]);
  result.stages.push_back(
      {impl.count - 1, impl.segment_digests.back(), "local", last_trace.node_digests});
  for (int id : g.outputs) {
    const auto it = values.find(id);
    if (it == values.end())
      return Status::Internal("graph output " + std::to_string(id) + " not computed");
    result.outputs.push_back(it->second);
  }
  return result;
}

Result<SplitGenerateResult> SplitRunner::Generate(const std::vector<int>& prompt,
                                                  const GenerateOptions& options) {
  Impl& impl = *impl_;
  const Graph& g = impl.graph;
  if (g.inputs.size() != 2 || g.outputs.size() != 1)
    return Status::InvalidArgument(
        "generation needs a model with inputs (tokens, positions) and one output");
  if (prompt.empty()) return Status::InvalidArgument("the prompt is empty");
  const int64_t context = ContextLength(g);
  if (context > 0 && static_cast<int64_t>(prompt.size()) > context)
    return Status::InvalidArgument("the prompt has " + std::to_string(prompt.size()) +
                                   " tokens; the model's context is " + std::to_string(context));
  const std::vector<Segment> segments = g.EffectiveSegments();
  const std::vector<int> last_out_ids = g.SegmentOutputs(segments.back());
  const int output_index = IndexOf(last_out_ids, g.outputs[0]);
  if (output_index < 0) return Status::Unsupported("the last segment does not produce the output");

  SplitGenerateResult result;
  KvCache first_cache, last_cache;
  std::string session = RandomSessionId();
  bool session_valid = false;  // the nodes hold this session at `remote_tokens`
  int64_t remote_tokens = 0;
  // Per step: what the client sent the chain, for replay after a failure.
  std::vector<std::vector<Tensor>> sent_inputs, sent_carry;
  std::vector<int> pending = prompt;
  while (static_cast<int>(result.generated.tokens.size()) < options.max_new_tokens) {
    const int64_t t = static_cast<int64_t>(pending.size());
    Tensor tokens(DType::kInt32, {1, t}), positions(DType::kInt32, {1, t});
    for (int64_t i = 0; i < t; ++i) {
      tokens.i32()[static_cast<size_t>(i)] = pending[static_cast<size_t>(i)];
      positions.i32()[static_cast<size_t>(i)] = static_cast<int32_t>(first_cache.tokens() + i);
    }
    std::unordered_map<int, Tensor> values;
    values[g.inputs[0]] = tokens;
    values[g.inputs[1]] = positions;
    auto gather = [&](const std::vector<int>& ids) {
      std::vector<Tensor> out;
      for (int id : ids) out.push_back(values.at(id));
      return out;
    };
    RunTrace first_trace, last_trace;
    VEIL_ASSIGN_OR_RETURN(std::vector<Tensor> first_out, impl.Local(impl.first, [&](Session& s) {
      return s.RunIncremental(gather(impl.first_in), &first_cache, &first_trace);
    }));
    for (size_t i = 0; i < first_out.size(); ++i)
      values[impl.first_out[i]] = std::move(first_out[i]);
    sent_inputs.push_back(gather(impl.head_inputs));
    sent_carry.push_back(gather(impl.head_carry));

    VEIL_ASSIGN_OR_RETURN(
        ChainReply reply,
        impl.CallWithFailover(
            [&](const std::vector<std::string>& nodes, bool,
                std::string* failed) -> Result<ChainReply> {
              Result<ChainReply> r = Status::Internal("not called");
              if (session_valid) {
                r = impl.CallChain(nodes, sent_inputs.back(), sent_carry.back(), session,
                                   remote_tokens, failed);
              } else {
                // (Re)start the session on this route with the whole history.
                session = RandomSessionId();
                auto concat = [](const std::vector<std::vector<Tensor>>& steps) {
                  std::vector<Tensor> out;
                  for (size_t k = 0; k < steps[0].size(); ++k) {
                    std::vector<const Tensor*> parts;
                    for (const auto& step : steps) parts.push_back(&step[k]);
                    out.push_back(ConcatTokens(parts));
                  }
                  return out;
                };
                r = impl.CallChain(nodes, concat(sent_inputs), concat(sent_carry), session, 0,
                                   failed);
                if (r.ok())
                  for (Tensor& out : r->outputs) {
                    if (out.rank() < 2 || out.dim(1) < t) {
                      *failed = nodes.back();
                      return Status::Corrupt("replayed chain returned too few tokens");
                    }
                    out = LastTokens(out, t);
                  }
              }
              if (!r.ok()) {
                session_valid = false;
                return r;
              }
              if (Status s = impl.CheckReturned(r->outputs, 1, t); !s.ok()) {
                session_valid = false;
                *failed = nodes.back();
                return s;
              }
              return r;
            },
            &result.failovers));
    session_valid = true;
    remote_tokens = first_cache.tokens();
    for (size_t i = 0; i < reply.outputs.size(); ++i)
      values[impl.return_ids[i]] = std::move(reply.outputs[i]);
    VEIL_ASSIGN_OR_RETURN(std::vector<Tensor> last_out, impl.Local(impl.last, [&](Session& s) {
      return s.RunIncremental(gather(impl.last_in), &last_cache, &last_trace);
    }));
    result.stages.clear();
    result.stages.push_back({0, impl.segment_digests[0], "local", first_trace.node_digests});
    for (StageEvidence& st : reply.stages) result.stages.push_back(std::move(st));
    result.stages.push_back(
        {impl.count - 1, impl.segment_digests.back(), "local", last_trace.node_digests});
    VEIL_ASSIGN_OR_RETURN(int next, LastTokenArgmax(last_out[static_cast<size_t>(output_index)]));
    result.generated.tokens.push_back(next);
    if (options.on_token) options.on_token(next);
    pending = {next};
    if (context > 0 && first_cache.tokens() >= context) {
      result.generated.stopped_at_context = true;
      break;
    }
  }
  return result;
}

}  // namespace veil::net
