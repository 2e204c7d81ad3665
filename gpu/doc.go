// Package gpu is the home of vrlaif's numeric kernels: the interfaces, CPU reference kernels
// with their exact math in doc comments, and the CUDA device. The default build never links CUDA.
//
// # What is here
//
// [Device] is the PPO numeric core of the seed (VLM-RLAIF, reference vlm-rlaif.md §4.4–4.5):
// per-token KL, reward shaping, GAE, advantage whitening, and the clipped policy and value losses
// with their gradients; [CPU] is its naive, readable reference. [Ops] is the model's operations
// (package model's math; model.CPUOps is their reference). [KernelDevice] implements both with the
// CUDA C kernels of gpu/kernels on a [KernelBackend]: the CUDA driver (NewCUDA, build tag cuda)
// or gpu/cudaemu (the same CUDA C on the CPU). The conformance suites in gpu/gputest check every
// implementation against the references.
//
// Device, Ops and their methods copy host slices in and out on every call. For work that keeps
// its tensors on the device (gpu/devmodel's decoder), KernelDevice also has device-resident
// buffers ([KernelDevice.Alloc], addresses as [Ptr]) and [KernelDevice.Run], which hands a
// [Queue] of launches on them to the device goroutine. Matrix products run on the sgemm kernel
// or, in the CUDA build, on cuBLAS loaded at run time ([KernelDevice.SetGemm]).
//
// # Conventions
//
//   - Tensors are flat, row-major float32 slices on the host. PPO tensors are [B,T]: B rollouts ×
//     T response slots, element (b,t) at index b·T+t. Per-rollout vectors are [B].
//   - Padding is given by lengths [B] (int32): slots t < lengths[b] are response tokens, slots
//     t ≥ lengths[b] are pads (responses are right-padded, as in the seed). lengths and hasStop
//     are the values after the seed's truncation rule (§4.3.2).
//   - Output first, inputs next, scalars and parameters after, shapes last (llm.c order). Outputs
//     must not alias inputs unless a method says so.
//   - Backward methods accumulate (+=) into their gradient slices, like model's ops; callers zero
//     them.
//   - Slices shorter than their shape are programmer errors and panic with a "gpu: " message
//     (gonum style); only the first B·T (or B, or N) elements are read or written. Device failures
//     (a CUDA launch, a copy) are returned as errors; the CPU reference never fails.
//   - Storage is float32; the CPU reference accumulates sums and recursions in float64.
//
// # Ownership
//
// A Device is used by one goroutine at a time. KernelDevice owns its backend (the CUDA context)
// on one thread-locked goroutine and serialises calls; the order is fetcher → learner → device:
// the rollout fetcher hands a batch to the learner, and only the learner calls the device. Close
// frees whatever the device holds.
//
// # Not here
//
// gpu must not import model (the dependency runs train → model → gpu): Ops mirrors model's
// operations with plain slices, and model.CPUOps adapts model's functions to it.
package gpu
