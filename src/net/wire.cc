#include "wire.h"

#include <cstring>
#include <limits>

namespace veil::net {

v1::DType ToWire(DType dtype) {
  switch (dtype) {
    case DType::kInt8:
      return v1::DTYPE_INT8;
    case DType::kInt32:
      return v1::DTYPE_INT32;
    case DType::kInt64:
      return v1::DTYPE_INT64;
  }
  return v1::DTYPE_UNSPECIFIED;
}

void EncodeTensor(const Tensor& tensor, v1::Tensor* out) {
  out->set_dtype(ToWire(tensor.dtype()));
  out->clear_dims();
  for (int64_t d : tensor.shape()) out->add_dims(d);
  out->set_data(reinterpret_cast<const char*>(tensor.raw()), tensor.byte_size());
}

Result<Tensor> DecodeTensor(const v1::Tensor& wire, int64_t* byte_budget, const std::string& what) {
  DType dtype;
  switch (wire.dtype()) {
    case v1::DTYPE_INT8:
      dtype = DType::kInt8;
      break;
    case v1::DTYPE_INT32:
      dtype = DType::kInt32;
      break;
    case v1::DTYPE_INT64:
      dtype = DType::kInt64;
      break;
    default:
      return Status::InvalidArgument(what + ": unknown dtype " +
                                     std::to_string(static_cast<int>(wire.dtype())));
  }
  if (wire.dims_size() < 1 || wire.dims_size() > kMaxWireRank)
    return Status::InvalidArgument(what + ": rank " + std::to_string(wire.dims_size()) +
                                   " outside 1.." + std::to_string(kMaxWireRank));
  const int64_t elem = static_cast<int64_t>(DTypeSize(dtype));
  const int64_t budget = *byte_budget;
  int64_t elements = 1;
  Shape shape;
  for (int i = 0; i < wire.dims_size(); ++i) {
    const int64_t d = wire.dims(i);
    if (d < 1)
      return Status::InvalidArgument(what + ": dim " + std::to_string(i) + " is " +
                                     std::to_string(d));
    // elements * d * elem must stay within the budget (checked without overflow).
    if (d > budget / elem / elements)
      return Status::InvalidArgument(what + ": shape exceeds the request's tensor byte limit of " +
                                     std::to_string(budget) + " remaining bytes");
    elements *= d;
    shape.push_back(d);
  }
  const int64_t bytes = elements * elem;
  if (static_cast<int64_t>(wire.data().size()) != bytes)
    return Status::InvalidArgument(what + ": data holds " + std::to_string(wire.data().size()) +
                                   " bytes but dims " + ShapeToString(shape) + " of " +
                                   DTypeName(dtype) + " need " + std::to_string(bytes));
  Tensor t(dtype, shape);
  if (bytes > 0) std::memcpy(t.raw(), wire.data().data(), static_cast<size_t>(bytes));
  if (dtype == DType::kInt8) {
    const auto v = t.i8();
    for (size_t i = 0; i < v.size(); ++i)
      if (v[i] == std::numeric_limits<int8_t>::min())
        return Status::InvalidArgument(what + ": int8 element " + std::to_string(i) +
                                       " is -128 (activations lie in [-127, 127])");
  }
  *byte_budget -= bytes;
  return t;
}

bool DigestFromBytes(const std::string& bytes, Digest* out) {
  if (bytes.size() != out->size()) return false;
  std::memcpy(out->data(), bytes.data(), out->size());
  return true;
}

std::string DigestToBytes(const Digest& digest) {
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

bool ValidRequestId(const std::string& id) {
  if (id.empty() || id.size() > kMaxRequestIdLength) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status EncodeCall(const SegmentCall& call, v1::RunSegmentRequest* out) {
  if (!ValidRequestId(call.request_id))
    return Status::InvalidArgument("request_id must be 1..64 characters from [A-Za-z0-9._:-]");
  if (!call.session_id.empty() && !ValidRequestId(call.session_id))
    return Status::InvalidArgument("session_id must be 1..64 characters from [A-Za-z0-9._:-]");
  if (call.segment_index < 0 || call.position < 0 || call.position > 0xffffffffLL)
    return Status::InvalidArgument("negative segment index or position out of range");
  if (call.forward.size() > static_cast<size_t>(kMaxHops))
    return Status::InvalidArgument("a chain has at most " + std::to_string(kMaxHops) + " hops");
  out->set_request_id(call.request_id);
  out->set_model_digest(DigestToBytes(call.model_digest));
  out->set_segment_index(static_cast<uint32_t>(call.segment_index));
  out->set_segment_digest(DigestToBytes(call.segment_digest));
  for (const Tensor& t : call.inputs) EncodeTensor(t, out->add_inputs());
  for (const Tensor& t : call.carry) EncodeTensor(t, out->add_carry());
  for (const Hop& h : call.forward) {
    if (h.segment_index < 0) return Status::InvalidArgument("negative hop segment index");
    v1::Hop* w = out->add_forward();
    w->set_address(h.address);
    w->set_segment_index(static_cast<uint32_t>(h.segment_index));
    w->set_segment_digest(DigestToBytes(h.segment_digest));
    for (int i : h.inputs_from) w->add_inputs_from(static_cast<uint32_t>(i));
    for (int i : h.carry_from) w->add_carry_from(static_cast<uint32_t>(i));
  }
  for (int i : call.return_from) out->add_return_from(static_cast<uint32_t>(i));
  out->set_session_id(call.session_id);
  out->set_position(static_cast<uint32_t>(call.position));
  return Status::Ok();
}

Result<ChainReply> DecodeChainReply(const v1::RunSegmentReply& reply,
                                    const std::vector<ExpectedStage>& expected, int64_t max_bytes) {
  ChainReply out;
  if (reply.stages_size() != static_cast<int>(expected.size()))
    return Status::Corrupt("reply has evidence for " + std::to_string(reply.stages_size()) +
                           " stage(s), expected " + std::to_string(expected.size()));
  for (size_t i = 0; i < expected.size(); ++i) {
    const v1::StageEvidence& w = reply.stages(static_cast<int>(i));
    StageEvidence e;
    e.segment_index = static_cast<int>(w.segment_index());
    if (!DigestFromBytes(w.segment_digest(), &e.segment_digest))
      return Status::Corrupt("stage " + std::to_string(i) + ": segment_digest is not 32 bytes");
    if (w.segment_index() != static_cast<uint32_t>(expected[i].segment_index) ||
        e.segment_digest != expected[i].segment_digest)
      return Status::Corrupt("stage " + std::to_string(i) + " (" + expected[i].address +
                             ") reports segment " + std::to_string(w.segment_index()) + " digest " +
                             DigestToHex(e.segment_digest).substr(0, 16) + ", not the requested " +
                             std::to_string(expected[i].segment_index) + " digest " +
                             DigestToHex(expected[i].segment_digest).substr(0, 16));
    e.served_by = expected[i].address;
    if (w.trace_digests_size() > (1 << 16))
      return Status::Corrupt("stage " + std::to_string(i) + ": too many trace digests");
    for (const std::string& d : w.trace_digests()) {
      Digest digest;
      if (!DigestFromBytes(d, &digest))
        return Status::Corrupt("stage " + std::to_string(i) + ": a trace digest is not 32 bytes");
      e.trace_digests.push_back(digest);
    }
    out.stages.push_back(std::move(e));
  }
  if (reply.outputs_size() > kMaxWireTensors) return Status::Corrupt("too many outputs");
  int64_t budget = max_bytes;
  for (int i = 0; i < reply.outputs_size(); ++i) {
    auto t = DecodeTensor(reply.outputs(i), &budget, "output " + std::to_string(i));
    if (!t.ok()) return Status::Corrupt(t.status().message());
    out.outputs.push_back(std::move(t).value());
  }
  return out;
}

void EncodeRoundParams(const consensus::RoundParams& params, v1::RoundParams* out) {
  out->set_model_digest(DigestToBytes(params.model_digest));
  out->set_request_id(params.request_id);
  out->set_public_seed(DigestToBytes(params.public_seed));
  out->set_mode(static_cast<uint32_t>(params.mode));
  out->set_segment_index(params.segment_index);
  out->set_segment_digest(DigestToBytes(params.segment_digest));
  out->set_committee_size(params.committee_size);
  out->set_quorum(params.quorum);
  out->set_audit_per_million(params.audit_per_million);
  out->clear_eligible();
  for (const consensus::EligibleNode& e : params.eligible) {
    v1::EligibleNode* w = out->add_eligible();
    w->set_node_public_key(FixedToBytes(e.key));
    w->set_weight(e.weight);
  }
}

Result<consensus::RoundParams> DecodeRoundParams(const v1::RoundParams& wire) {
  consensus::RoundParams p;
  if (!DigestFromBytes(wire.model_digest(), &p.model_digest))
    return Status::InvalidArgument("round.model_digest must be 32 bytes");
  if (!DigestFromBytes(wire.public_seed(), &p.public_seed))
    return Status::InvalidArgument("round.public_seed must be 32 bytes");
  if (!DigestFromBytes(wire.segment_digest(), &p.segment_digest))
    return Status::InvalidArgument("round.segment_digest must be 32 bytes");
  if (wire.eligible_size() > static_cast<int>(consensus::kMaxEligibleNodes))
    return Status::InvalidArgument(
        "round has more than " + std::to_string(consensus::kMaxEligibleNodes) + " eligible nodes");
  if (wire.mode() != static_cast<uint32_t>(consensus::Mode::kConsensus) &&
      wire.mode() != static_cast<uint32_t>(consensus::Mode::kAudit))
    return Status::InvalidArgument("round.mode " + std::to_string(wire.mode()) + " is unknown");
  p.request_id = wire.request_id();
  p.mode = static_cast<consensus::Mode>(wire.mode());
  p.segment_index = wire.segment_index();
  p.committee_size = wire.committee_size();
  p.quorum = wire.quorum();
  p.audit_per_million = wire.audit_per_million();
  for (int i = 0; i < wire.eligible_size(); ++i) {
    consensus::EligibleNode e;
    if (!FixedFromBytes(wire.eligible(i).node_public_key(), &e.key))
      return Status::InvalidArgument("round.eligible[" + std::to_string(i) +
                                     "].node_public_key must be 32 bytes");
    e.weight = wire.eligible(i).weight();
    p.eligible.push_back(e);
  }
  VEIL_RETURN_IF_ERROR(consensus::ValidateRoundParams(p));
  return p;
}

void EncodeCommitment(const consensus::SignedCommitment& c, v1::Commitment* out) {
  out->set_node_public_key(FixedToBytes(c.member));
  out->set_input_digest(DigestToBytes(c.input_digest));
  out->set_commitment_hash(DigestToBytes(c.commitment_hash));
  out->set_signature(FixedToBytes(c.signature));
}

Result<consensus::SignedCommitment> DecodeCommitment(const v1::Commitment& wire) {
  consensus::SignedCommitment c;
  if (!FixedFromBytes(wire.node_public_key(), &c.member))
    return Status::InvalidArgument("commitment.node_public_key must be 32 bytes");
  if (!DigestFromBytes(wire.input_digest(), &c.input_digest))
    return Status::InvalidArgument("commitment.input_digest must be 32 bytes");
  if (!DigestFromBytes(wire.commitment_hash(), &c.commitment_hash))
    return Status::InvalidArgument("commitment.commitment_hash must be 32 bytes");
  if (!FixedFromBytes(wire.signature(), &c.signature))
    return Status::InvalidArgument("commitment.signature must be 64 bytes");
  return c;
}

}  // namespace veil::net
