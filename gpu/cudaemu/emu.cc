// emu.cc: the kernels of gpu/kernels compiled for the CPU, and a launcher (see doc.go).
#include "emu.h"

#include <cstring>
#include <string>
#include <thread>
#include <vector>

thread_local emu_dim3 threadIdx, blockIdx;
emu_dim3 blockDim, gridDim;
std::barrier<> *emu_block_barrier;

#include "../kernels/gae.cu"
#include "../kernels/kl.cu"
#include "../kernels/policy_loss.cu"
#include "../kernels/shape.cu"
#include "../kernels/value_loss.cu"
#include "../kernels/whiten.cu"

#include "emu_export.h"

namespace {

// Argument slots as the CUDA driver reads them: a parameter's value in the low bytes of its slot.
template <typename T> T arg(const uint64_t *a, int i) {
  T v;
  std::memcpy(&v, &a[i], sizeof(T));
  return v;
}
#define P(T, i) arg<T>(a, i)

// run executes body once per GPU thread of one launch. Kernels that synchronise get a real thread
// per GPU thread; the others run their threads one after another.
template <typename F> void run(int grid, int block, bool syncs, F body) {
  gridDim = {unsigned(grid), 1, 1};
  blockDim = {unsigned(block), 1, 1};
  for (int b = 0; b < grid; b++) {
    if (!syncs) {
      blockIdx = {unsigned(b), 0, 0};
      for (int t = 0; t < block; t++) {
        threadIdx = {unsigned(t), 0, 0};
        body();
      }
      continue;
    }
    std::barrier<> bar(block);
    emu_block_barrier = &bar;
    std::vector<std::thread> ts;
    ts.reserve(block);
    for (int t = 0; t < block; t++) {
      ts.emplace_back([&, b, t] {
        blockIdx = {unsigned(b), 0, 0};
        threadIdx = {unsigned(t), 0, 0};
        body();
        bar.arrive_and_drop();  // a finished thread no longer holds the others back
      });
    }
    for (auto &th : ts) th.join();
    emu_block_barrier = nullptr;
  }
}

}  // namespace

extern "C" int emu_launch(const char *kernel, int grid, int block, const uint64_t *a, int n) {
  std::string k(kernel);
  if (k == "ppo_kl" && n == 6) {
    run(grid, block, false, [&] {
      ppo_kl(P(float *, 0), P(const float *, 1), P(const float *, 2), P(const int *, 3), P(int, 4), P(int, 5));
    });
  } else if (k == "ppo_shape_rewards" && n == 11) {
    run(grid, block, false, [&] {
      ppo_shape_rewards(P(float *, 0), P(const float *, 1), P(const float *, 2), P(const unsigned char *, 3),
                        P(const int *, 4), P(float, 5), P(float, 6), P(float, 7), P(float, 8), P(int, 9), P(int, 10));
    });
  } else if (k == "ppo_gae" && n == 8) {
    run(grid, block, false, [&] {
      ppo_gae(P(float *, 0), P(float *, 1), P(const float *, 2), P(const float *, 3), P(float, 4), P(float, 5),
              P(int, 6), P(int, 7));
    });
  } else if (k == "ppo_whiten" && n == 5) {
    run(grid, block, true, [&] {
      ppo_whiten(P(float *, 0), P(double *, 1), P(const float *, 2), P(float, 3), P(int, 4));
    });
  } else if (k == "ppo_policy_loss_fwd" && n == 9) {
    run(grid, block, true, [&] {
      ppo_policy_loss_fwd(P(double *, 0), P(const float *, 1), P(const float *, 2), P(const float *, 3),
                          P(const int *, 4), P(float, 5), P(int, 6), P(int, 7), P(int, 8));
    });
  } else if (k == "ppo_policy_loss_bwd" && n == 9) {
    run(grid, block, false, [&] {
      ppo_policy_loss_bwd(P(float *, 0), P(const float *, 1), P(const float *, 2), P(const float *, 3),
                          P(const int *, 4), P(float, 5), P(double, 6), P(int, 7), P(int, 8));
    });
  } else if (k == "ppo_value_loss_fwd" && n == 9) {
    run(grid, block, true, [&] {
      ppo_value_loss_fwd(P(double *, 0), P(const float *, 1), P(const float *, 2), P(const float *, 3),
                         P(const int *, 4), P(float, 5), P(int, 6), P(int, 7), P(int, 8));
    });
  } else if (k == "ppo_value_loss_bwd" && n == 10) {
    run(grid, block, false, [&] {
      ppo_value_loss_bwd(P(float *, 0), P(const float *, 1), P(const float *, 2), P(const float *, 3),
                         P(const int *, 4), P(float, 5), P(int, 6), P(double, 7), P(int, 8), P(int, 9));
    });
  } else {
    return 1;  // unknown kernel or wrong argument count
  }
  return 0;
}

#define VRLAIF_STR2(x) #x
#define VRLAIF_STR(x) VRLAIF_STR2(x)
extern "C" const char *emu_sources() { return VRLAIF_STR(VRLAIF_KERNEL_SOURCES); }
