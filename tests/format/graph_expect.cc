// ExpectGraphsEqual (declared in test_graphs.h), kept apart so that the fuzz seed
// generator can link the graph builders without gtest.
#include <gtest/gtest.h>

#include "format/test_graphs.h"

namespace veil::testing {

void ExpectGraphsEqual(const Graph& a, const Graph& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.task, b.task);
  EXPECT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.values.size(), b.values.size());
  for (size_t i = 0; i < a.values.size(); ++i) {
    SCOPED_TRACE("value " + std::to_string(i));
    EXPECT_EQ(a.values[i].name, b.values[i].name);
    EXPECT_EQ(a.values[i].dtype, b.values[i].dtype);
    EXPECT_EQ(a.values[i].shape, b.values[i].shape);
    EXPECT_EQ(a.values[i].scale, b.values[i].scale);
  }
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    SCOPED_TRACE("node " + std::to_string(i));
    const Node& x = a.nodes[i];
    const Node& y = b.nodes[i];
    EXPECT_EQ(x.kind, y.kind);
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.inputs, y.inputs);
    EXPECT_EQ(x.outputs, y.outputs);
    ASSERT_EQ(x.attrs.size(), y.attrs.size());
    for (size_t k = 0; k < x.attrs.size(); ++k) {
      EXPECT_EQ(x.attrs[k].name, y.attrs[k].name);
      EXPECT_EQ(x.attrs[k].values, y.attrs[k].values);
    }
    ASSERT_EQ(x.params.size(), y.params.size());
    for (size_t k = 0; k < x.params.size(); ++k) {
      EXPECT_EQ(x.params[k].name, y.params[k].name);
      EXPECT_TRUE(x.params[k].tensor == y.params[k].tensor) << x.params[k].name;
    }
  }
  EXPECT_EQ(a.inputs, b.inputs);
  EXPECT_EQ(a.outputs, b.outputs);
  ASSERT_EQ(a.segments.size(), b.segments.size());
  for (size_t i = 0; i < a.segments.size(); ++i) {
    EXPECT_EQ(a.segments[i].begin, b.segments[i].begin);
    EXPECT_EQ(a.segments[i].end, b.segments[i].end);
  }
}

}  // namespace veil::testing
