// A fixed pool of worker threads for data-parallel loops.
//
// ParallelFor splits [0, n) into contiguous chunks. Kernels only ever parallelise over
// independent outputs, each computed by exactly the same integer operations whatever
// thread computes it, so results are bit-identical for any thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace veil {

class ThreadPool {
 public:
  // threads <= 1 runs everything on the calling thread.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const;

  // Calls fn(begin, end) over disjoint chunks covering [0, n), at most threads() at a
  // time, each at least `grain` long (except possibly the last); returns when all are done.
  void ParallelFor(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace veil
