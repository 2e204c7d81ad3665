// emu.cc: the kernels of gpu/kernels compiled for the CPU, and a launcher (see doc.go).
#undef _FORTIFY_SOURCE  // its longjmp check rejects the jumps between fiber stacks
#include "emu.h"

#include <setjmp.h>
#include <ucontext.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

thread_local emu_dim3 threadIdx, blockIdx;
emu_dim3 blockDim, gridDim;

namespace {

// fibers runs one block's threads as fibers on the calling OS thread. Each fiber is made once
// (makecontext) and then switched to and from with _setjmp/_longjmp, which save no signal mask
// (swapcontext makes a system call per switch). A fiber loops: run the block's body, mark itself
// done, hand back; the next block resumes it at the top of the loop. Launches are serialised
// (emu_launch), so one set of fibers serves every device.
struct jump {
  jmp_buf b;
};
struct fibers {
  jmp_buf sched;
  std::vector<ucontext_t> ctx;  // for each fiber's first start
  std::vector<jump> at;         // where each fiber waits
  std::vector<std::unique_ptr<char[]>> stacks;  // uninitialised: only the pages a fiber uses are touched
  std::vector<char> started, done;
  int current = 0;
  const std::function<void()> *body = nullptr;
};
fibers fib;
constexpr size_t fiber_stack = 256 << 10;

// yield hands control back to the scheduler; it returns when the scheduler resumes fiber me.
void yield(int me) {
  if (!_setjmp(fib.at[me].b)) _longjmp(fib.sched, 1);
}

void fiber_main() {
  for (;;) {
    int me = fib.current;
    (*fib.body)();
    fib.done[me] = 1;
    yield(me);
  }
}

// resume runs fiber t until it yields (a barrier, or the end of the body).
void resume(int t) {
  fib.current = t;
  threadIdx = {unsigned(t), 0, 0};
  if (_setjmp(fib.sched)) return;
  if (fib.started[t]) _longjmp(fib.at[t].b, 1);
  fib.started[t] = 1;
  ucontext_t from;  // never resumed: the fiber comes back by _longjmp
  swapcontext(&from, &fib.ctx[t]);
}

void shfl_reset(int block);

// run_block runs body once per thread of a block of block threads: round after round, each
// unfinished fiber runs until its next __syncthreads or its end.
void run_block(int block, const std::function<void()> &body) {
  for (int t = (int)fib.ctx.size(); t < block; t++) {
    fib.ctx.emplace_back();
    fib.at.emplace_back();
    fib.stacks.emplace_back(new char[fiber_stack]);
    fib.started.push_back(0);
    fib.done.push_back(0);
  }
  for (int t = 0; t < block; t++) {
    if (!fib.started[t]) {
      getcontext(&fib.ctx[t]);
      fib.ctx[t].uc_stack.ss_sp = fib.stacks[t].get();
      fib.ctx[t].uc_stack.ss_size = fiber_stack;
      fib.ctx[t].uc_link = nullptr;  // fiber_main never returns
      makecontext(&fib.ctx[t], fiber_main, 0);
    }
    fib.done[t] = 0;
  }
  shfl_reset(block);
  fib.body = &body;
  for (int alive = block; alive > 0;) {
    for (int t = 0; t < block; t++) {
      if (fib.done[t]) continue;
      resume(t);
      if (fib.done[t]) alive--;
    }
  }
}

}  // namespace

void emu_syncthreads() { yield(fib.current); }

// emu_shfl_xor: lane t gets lane t^lane_mask's v. Each lane posts its value, waits a round (its
// warp's lanes all post), reads its partner's, and waits a round more (all read before any posts
// again). Lanes count their shuffles: a partner at another count, or finished, is a kernel that
// breaks the warp's lock-step (undefined on a GPU), and stops the process with the kernel's fault.
namespace {
struct shfl_slot {
  double v;  // a float shuffled goes through double exactly
  long n;  // shuffles this thread has made in the running block
};
std::vector<shfl_slot> shfl;
}  // namespace

namespace {
void shfl_reset(int block) {
  shfl.assign(block, shfl_slot{0.0, 0});
}
}  // namespace

double emu_shfl_xor(double v, int lane_mask) {
  int t = threadIdx.x, p = t ^ lane_mask;
  if (shfl.size() < blockDim.x) shfl.resize(blockDim.x);
  if (lane_mask < 0 || lane_mask >= 32 || p >= (int)blockDim.x) {
    std::fprintf(stderr, "cudaemu: __shfl_xor_sync lane mask %d from thread %d\n", lane_mask, t);
    std::abort();
  }
  shfl[t].v = v;
  shfl[t].n++;
  yield(fib.current);
  if (fib.done[p] || shfl[p].n != shfl[t].n) {
    std::fprintf(stderr, "cudaemu: thread %d of block %u shuffles with thread %d, which is not at the same shuffle (a warp out of lock-step)\n",
                 t, blockIdx.x, p);
    std::abort();
  }
  double r = shfl[p].v;
  yield(fib.current);
  return r;
}

#include "../kernels/attention.cu"
#include "../kernels/bf16.cu"
#include "../kernels/colsum.cu"
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

// run executes body once per GPU thread of one launch. Kernels that synchronise run each block's
// threads as fibers (run_block); the others run their threads one after another.
template <typename F> void run(int grid, int block, bool syncs, F body) {
  gridDim = {unsigned(grid), 1, 1};
  blockDim = {unsigned(block), 1, 1};
  const std::function<void()> fn = body;
  for (int b = 0; b < grid; b++) {
    blockIdx = {unsigned(b), 0, 0};
    if (syncs) {
      run_block(block, fn);
      continue;
    }
    for (int t = 0; t < block; t++) {
      threadIdx = {unsigned(t), 0, 0};
      body();
    }
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

// Every kernel of gpu/kernels; syncs marks those that call __syncthreads (reductions, tiles) or
// shuffle within a warp (__shfl_xor_sync, __syncwarp).
const kernel kernels[] = {
    K(ppo_kl, false),             K(ppo_shape_rewards, false),  K(ppo_gae, false),
    K(ppo_whiten, true),          K(ppo_policy_loss_fwd, true), K(ppo_policy_loss_bwd, false),
    K(ppo_value_loss_fwd, true),  K(ppo_value_loss_bwd, false), K(embedding_fwd, false),
    K(embedding_bwd, false),      K(rmsnorm_fwd, true),         K(rmsnorm_bwd_dx, true),
    K(colsum_part, false),        K(colsum_add, false),         K(sgemm, true),
    K(add_bias, false),           K(rope, false),               K(attention_fwd, true),
    K(attention_bwd_ds, true),    K(attention_bwd_dq, false),   K(attention_bwd_dkv, false),
    K(swiglu_fwd, false),         K(swiglu_bwd, false),         K(crossentropy_fwd, true),
    K(crossentropy_bwd, false),   K(entropy, true),             K(adamw, false),
    K(sum_squares_part, true),    K(sum_doubles, true),         K(scale, false),
    K(to_bf16, false),
};

}  // namespace

extern "C" int emu_nargs(const char *name) {
  for (const kernel &k : kernels)
    if (std::strcmp(k.name, name) == 0) return k.nargs;
  return -1;
}

extern "C" int emu_launch(const char *name, int grid, int block, const uint64_t *a, int n) {
  static std::mutex mu;  // one launch at a time: the fibers and __shared__ arrays are global
  std::lock_guard<std::mutex> lock(mu);
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
