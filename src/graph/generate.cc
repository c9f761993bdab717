#include "veil/generate.h"

#include <algorithm>
#include <string>

namespace veil {

int64_t ContextLength(const Graph& graph) {
  if (const std::string* s = graph.FindMetadata("context_length")) {
    try {
      return std::stoll(*s);
    } catch (const std::exception&) {
    }
  }
  // The embedding fed by the second input (positions) bounds the context.
  if (graph.inputs.size() >= 2)
    for (const Node& n : graph.nodes)
      if (n.kind == OpKind::kEmbedding && n.inputs[0] == graph.inputs[1])
        if (const Tensor* t = n.FindParam("table")) return t->dim(0);
  return 0;
}

Result<int> LastTokenArgmax(const Tensor& logits) {
  if (logits.dtype() != DType::kInt8 || logits.rank() != 3 || logits.dim(1) < 1)
    return Status::InvalidArgument("text generator output must be int8 [batch, tokens, vocab]");
  const int64_t vocab = logits.dim(2);
  const int8_t* row = logits.i8().data() + (logits.dim(1) - 1) * vocab;
  return static_cast<int>(std::max_element(row, row + vocab) - row);
}

Result<GenerateResult> GenerateGreedy(Session& session, const std::vector<int>& prompt,
                                      const GenerateOptions& options) {
  const Graph& graph = session.graph();
  if (graph.inputs.size() != 2 || graph.outputs.size() != 1)
    return Status::InvalidArgument(
        "generation needs a model with inputs (tokens, positions) and one output");
  if (prompt.empty()) return Status::InvalidArgument("the prompt is empty");
  const int64_t context = ContextLength(graph);
  if (context > 0 && static_cast<int64_t>(prompt.size()) > context)
    return Status::InvalidArgument("the prompt has " + std::to_string(prompt.size()) +
                                   " tokens; the model's context is " + std::to_string(context));
  KvCache cache;
  GenerateResult result;
  std::vector<int> pending = prompt;  // tokens not yet fed to the model
  while (static_cast<int>(result.tokens.size()) < options.max_new_tokens) {
    const int64_t t = static_cast<int64_t>(pending.size());
    Tensor tokens(DType::kInt32, {1, t}), positions(DType::kInt32, {1, t});
    for (int64_t i = 0; i < t; ++i) {
      tokens.i32()[i] = pending[i];
      positions.i32()[i] = static_cast<int32_t>(cache.tokens() + i);
    }
    VEIL_ASSIGN_OR_RETURN(std::vector<Tensor> out,
                          session.RunIncremental({tokens, positions}, &cache));
    VEIL_ASSIGN_OR_RETURN(int next, LastTokenArgmax(out[0]));
    result.tokens.push_back(next);
    if (options.on_token) options.on_token(next);
    pending = {next};
    if (context > 0 && cache.tokens() >= context) {
      result.stopped_at_context = true;
      break;
    }
  }
  return result;
}

}  // namespace veil
