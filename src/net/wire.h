// Conversions between veil types and the generated veil.v1 messages, with the checks a
// node applies to everything a peer sends (docs/net.md, proto/veil/v1/node.proto).
#pragma once

#include <cstdint>
#include <string>

#include "veil/consensus/commit_reveal.h"
#include "veil/consensus/committee.h"
#include "veil/digest.h"
#include "veil/net/node_client.h"
#include "veil/status.h"
#include "veil/tensor.h"
#include "veil/v1/node.pb.h"

namespace veil::net {

inline constexpr int kMaxWireRank = 8;
inline constexpr int kMaxWireTensors = 64;
inline constexpr size_t kMaxRequestIdLength = 64;
inline constexpr int kMaxHops = kMaxChainHops;
// Trailing metadata naming the address of the hop that failed in a chain.
inline constexpr const char* kFailedHopMetadata = "veil-failed-hop";

v1::DType ToWire(DType dtype);
void EncodeTensor(const Tensor& tensor, v1::Tensor* out);

// Checks dtype, rank (1..kMaxWireRank), dims (>= 1), byte length == product(dims) *
// dtype size without overflow, and that the bytes fit in `*byte_budget` (decremented);
// int8 data must lie in [-127, 127]. `what` names the tensor in error messages.
Result<Tensor> DecodeTensor(const v1::Tensor& wire, int64_t* byte_budget, const std::string& what);

// A 32-byte string as a Digest; false for any other length.
bool DigestFromBytes(const std::string& bytes, Digest* out);
std::string DigestToBytes(const Digest& digest);

// request_id: 1..64 characters from [A-Za-z0-9._:-].
bool ValidRequestId(const std::string& id);

// SegmentCall -> RunSegmentRequest (checks the hop count and ids).
Status EncodeCall(const SegmentCall& call, v1::RunSegmentRequest* out);

// The stage a caller asked for; `address` becomes StageEvidence::served_by.
struct ExpectedStage {
  int segment_index = 0;
  Digest segment_digest{};
  std::string address;
};
// Checks a chained reply against the stages the caller asked for (one evidence entry per
// stage with matching index and digest, 32-byte trace digests, well-formed tensors within
// `max_bytes`) and decodes it.
Result<ChainReply> DecodeChainReply(const v1::RunSegmentReply& reply,
                                    const std::vector<ExpectedStage>& expected, int64_t max_bytes);

// Consensus messages (node.proto "Consensus-based verification"). Decoders check every
// length and limit and name the bad field; they never trust a count or a size.
void EncodeRoundParams(const consensus::RoundParams& params, v1::RoundParams* out);
Result<consensus::RoundParams> DecodeRoundParams(const v1::RoundParams& wire);
void EncodeCommitment(const consensus::SignedCommitment& commitment, v1::Commitment* out);
Result<consensus::SignedCommitment> DecodeCommitment(const v1::Commitment& wire);
// A 32/64/80-byte field as a fixed array; false for any other length.
template <size_t N>
bool FixedFromBytes(const std::string& bytes, std::array<uint8_t, N>* out) {
  if (bytes.size() != N) return false;
  for (size_t i = 0; i < N; ++i) (*out)[i] = static_cast<uint8_t>(bytes[i]);
  return true;
}
template <size_t N>
std::string FixedToBytes(const std::array<uint8_t, N>& a) {
  return std::string(a.begin(), a.end());
}

}  // namespace veil::net
