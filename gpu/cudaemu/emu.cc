// emu.cc: the kernels of gpu/kernels compiled for the CPU, and a launcher (see doc.go).
#include "emu.h"

#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

thread_local emu_dim3 threadIdx, blockIdx;
emu_dim3 blockDim, gridDim;
std::barrier<> *emu_block_barrier;

#include "../kernels/attention.cu"
#include "../kernels/crossentropy.cu"
#include "../kernels/embedding.cu"
#include "../kernels/gae.cu"
#include "../kernels/kl.cu"
#include "../kernels/matmul.cu"
#include "../kernels/optim.cu"
#include "../kernels/policy_loss.cu"
#include "../kernels/rmsnorm.cu"
#include "../kernels/rope.cu"
#include "../kernels/shape.cu"
#include "../kernels/swiglu.cu"
#include "../kernels/value_loss.cu"
#include "../kernels/whiten.cu"

#include "emu_export.h"

namespace {

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

// Argument slots as the CUDA driver reads them: a parameter's value in the low bytes of its slot.
template <typename T> T arg(const uint64_t *a, size_t i) {
  T v;
  std::memcpy(&v, &a[i], sizeof(T));
  return v;
}

template <typename... Args, size_t... I>
void invoke(void (*fn)(Args...), const uint64_t *a, std::index_sequence<I...>) {
  fn(arg<Args>(a, I)...);
}

// kernel is one entry point: how to call it from argument slots, and whether it synchronises.
struct kernel {
  const char *name;
  int nargs;
  bool syncs;
  void (*launch)(int grid, int block, const uint64_t *a);
};

template <auto fn, bool syncs> struct entry;
template <typename... Args, void (*fn)(Args...), bool syncs> struct entry<fn, syncs> {
  static constexpr int nargs = sizeof...(Args);
  static void launch(int grid, int block, const uint64_t *a) {
    run(grid, block, syncs, [&] { invoke(fn, a, std::index_sequence_for<Args...>{}); });
  }
};

#define K(fn, syncs) kernel{#fn, entry<fn, syncs>::nargs, syncs, entry<fn, syncs>::launch}

// Every kernel of gpu/kernels; syncs marks those that call __syncthreads (reductions, tiles).
const kernel kernels[] = {
    K(ppo_kl, false),           K(ppo_shape_rewards, false),   K(ppo_gae, false),
    K(ppo_whiten, true),        K(ppo_policy_loss_fwd, true),  K(ppo_policy_loss_bwd, false),
    K(ppo_value_loss_fwd, true), K(ppo_value_loss_bwd, false), K(embedding_fwd, false),
    K(embedding_bwd, false),    K(rmsnorm_fwd, true),          K(rmsnorm_bwd_dx, true),
    K(rmsnorm_bwd_dw, false),   K(sgemm, true),                K(add_bias, false),
    K(bias_grad, false),        K(rope, false),                K(attention_fwd, false),
    K(attention_bwd_ds, false), K(attention_bwd_dq, false),    K(attention_bwd_dkv, false),
    K(swiglu_fwd, false),       K(swiglu_bwd, false),          K(crossentropy_fwd, true),
    K(crossentropy_bwd, false), K(entropy, true),              K(adamw, false),
    K(sum_squares, true),       K(scale, false),
};

}  // namespace

extern "C" int emu_nargs(const char *name) {
  for (const kernel &k : kernels)
    if (std::strcmp(k.name, name) == 0) return k.nargs;
  return -1;
}

extern "C" int emu_launch(const char *name, int grid, int block, const uint64_t *a, int n) {
  for (const kernel &k : kernels) {
    if (std::strcmp(k.name, name) == 0) {
      if (k.nargs != n) return 1;
      k.launch(grid, block, a);
      return 0;
    }
  }
  return 1;  // unknown kernel
}

#define VRLAIF_STR2(x) #x
#define VRLAIF_STR(x) VRLAIF_STR2(x)
extern "C" const char *emu_sources() { return VRLAIF_STR(VRLAIF_KERNEL_SOURCES); }
