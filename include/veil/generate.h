// Greedy autoregressive generation for text-generator graphs (ModelTask::kTextGenerator):
// byte tokens in, byte tokens out, with a key/value cache so each new token costs one
// incremental step. Inputs follow the shipped text model: "tokens" then "positions".
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "veil/session.h"

namespace veil {

struct GenerateOptions {
  int max_new_tokens = 64;
  // Called after each new token (for streaming output); may be empty.
  std::function<void(int token)> on_token;
};

struct GenerateResult {
  std::vector<int> tokens;          // the new tokens only
  bool stopped_at_context = false;  // the model's context length was reached
};

// The model's context length: rows of the position-embedding table (metadata
// "context_length" when present).
int64_t ContextLength(const Graph& graph);

// The greedy choice from int8 logits [batch, tokens, vocab]: the argmax of the last
// position of row 0 (first index on ties).
Result<int> LastTokenArgmax(const Tensor& logits);

// Greedy decoding (argmax of the last position's logits, first index on ties).
Result<GenerateResult> GenerateGreedy(Session& session, const std::vector<int>& prompt,
                                      const GenerateOptions& options);

}  // namespace veil
