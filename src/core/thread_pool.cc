#include "veil/thread_pool.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace veil {

// Workers wait for a "generation" bump, run their share of the current job, and report
// back. One job at a time; ParallelFor is not reentrant from inside a job.
struct ThreadPool::Impl {
  int threads = 1;
  std::vector<std::thread> workers;
  std::mutex mu;
  std::condition_variable work_cv, done_cv;
  uint64_t generation = 0;
  bool stop = false;
  const std::function<void(int64_t, int64_t)>* job = nullptr;
  int64_t n = 0, chunk = 0, num_chunks = 0;
  int64_t next_chunk = 0;
  int pending = 0;

  void RunChunks() {
    while (true) {
      int64_t c;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (next_chunk >= num_chunks) return;
        c = next_chunk++;
      }
      const int64_t begin = c * chunk;
      (*job)(begin, std::min(n, begin + chunk));
    }
  }

  void WorkerLoop() {
    uint64_t seen = 0;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu);
        work_cv.wait(lock, [&] { return stop || generation != seen; });
        if (stop) return;
        seen = generation;
      }
      RunChunks();
      {
        std::lock_guard<std::mutex> lock(mu);
        if (--pending == 0) done_cv.notify_one();
      }
    }
  }
};

ThreadPool::ThreadPool(int threads) : impl_(std::make_unique<Impl>()) {
  impl_->threads = std::max(1, threads);
  for (int i = 1; i < impl_->threads; ++i)
    impl_->workers.emplace_back([this] { impl_->WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->work_cv.notify_all();
  for (auto& w : impl_->workers) w.join();
}

int ThreadPool::threads() const { return impl_->threads; }

void ThreadPool::ParallelFor(int64_t n, int64_t grain,
                             const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t max_chunks = (n + grain - 1) / grain;
  const int64_t parts = std::min<int64_t>(impl_->threads, max_chunks);
  if (parts <= 1) {
    fn(0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->job = &fn;
    impl_->n = n;
    impl_->chunk = (n + parts - 1) / parts;
    impl_->num_chunks = (n + impl_->chunk - 1) / impl_->chunk;
    impl_->next_chunk = 0;
    impl_->pending = static_cast<int>(impl_->workers.size());
    ++impl_->generation;
  }
  impl_->work_cv.notify_all();
  impl_->RunChunks();
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->done_cv.wait(lock, [&] { return impl_->pending == 0; });
  impl_->job = nullptr;
}

}  // namespace veil
