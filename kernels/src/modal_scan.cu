#include <stdexcept>

#include "hd/kernels/cuda_check.h"
#include "hd/kernels/modal_scan.h"
#include "numeric.cuh"
#include "overlapped_launch.cuh"

namespace hd {
namespace {

__device__ __forceinline__ float2 cmul(float2 a, float2 b) { return {a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x}; }

// (1) scratch[b, c, k] = sum over the block of p^(end - t) u[t]: the block's state from zero.
template <typename T>
__global__ void local_state_kernel(ModalScanParams<T> p, int blocks) {
  const long long idx = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<long long>(blocks) * p.dim) return;
  const int c = static_cast<int>(idx % p.dim), b = static_cast<int>(idx / p.dim);
  const int t0 = b * kScanBlock, t1 = min(p.rows, t0 + kScanBlock);
  float2 pole[kMaxStateSize], s[kMaxStateSize];
  for (int k = 0; k < p.state_size; ++k) {
    pole[k] = p.poles[c * p.state_size + k];
    s[k] = {0.f, 0.f};
  }
  for (int t = t0; t < t1; ++t) {
    const float ut = p.u[static_cast<long long>(t) * p.dim + c];
    for (int k = 0; k < p.state_size; ++k) {
      s[k] = cmul(pole[k], s[k]);
      s[k].x += ut;
    }
  }
  for (int k = 0; k < p.state_size; ++k) p.scratch[(static_cast<long long>(b) * p.dim + c) * p.state_size + k] = s[k];
}

// (2) Per (c, k): walk the blocks in order; scratch[b] becomes the state entering block b.
template <typename T>
__global__ void carry_kernel(ModalScanParams<T> p, int blocks) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= p.dim * p.state_size) return;
  const int c = idx / p.state_size, k = idx % p.state_size;
  const float2 pf = p.poles[idx];
  // p^kScanBlock in double: repeated rounding in float would bend long prompts.
  double pr = 1.0, pi = 0.0;
  for (int i = 0; i < kScanBlock; ++i) {
    const double nr = pr * pf.x - pi * pf.y, ni = pr * pf.y + pi * pf.x;
    pr = nr;
    pi = ni;
  }
  const int last_len = p.rows - (blocks - 1) * kScanBlock;
  double lr = 1.0, li = 0.0;
  for (int i = 0; i < last_len; ++i) {
    const double nr = lr * pf.x - li * pf.y, ni = lr * pf.y + li * pf.x;
    lr = nr;
    li = ni;
  }
  double cr = p.state[idx].x, ci = p.state[idx].y;
  for (int b = 0; b < blocks; ++b) {
    float2* slot = p.scratch + (static_cast<long long>(b) * p.dim + c) * p.state_size + k;
    const float2 local = *slot;
    *slot = {static_cast<float>(cr), static_cast<float>(ci)};
    const double mr = b == blocks - 1 ? lr : pr, mi = b == blocks - 1 ? li : pi;
    const double nr = mr * cr - mi * ci + local.x, ni = mr * ci + mi * cr + local.y;
    cr = nr;
    ci = ni;
  }
  p.state[idx] = {static_cast<float>(cr), static_cast<float>(ci)};
}

// (3) Replay each block from its starting state and write the gated output.
template <typename T>
__global__ void output_kernel(ModalScanParams<T> p, int blocks) {
  allow_next_kernel_to_start();  // the output projection's GEMV follows (decode)
  const long long idx = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<long long>(blocks) * p.dim) return;
  const int c = static_cast<int>(idx % p.dim), b = static_cast<int>(idx / p.dim);
  const int t0 = b * kScanBlock, t1 = min(p.rows, t0 + kScanBlock);
  float2 pole[kMaxStateSize], res[kMaxStateSize], s[kMaxStateSize];
  for (int k = 0; k < p.state_size; ++k) {
    pole[k] = p.poles[c * p.state_size + k];
    res[k] = p.residues[c * p.state_size + k];
    s[k] = p.scratch[(static_cast<long long>(b) * p.dim + c) * p.state_size + k];
  }
  const float skip = to_f32(p.skip[c]);
  for (int t = t0; t < t1; ++t) {
    const long long at = static_cast<long long>(t) * p.dim + c;
    const float ut = p.u[at];
    float out = 0.f;
    for (int k = 0; k < p.state_size; ++k) {
      s[k] = cmul(pole[k], s[k]);
      s[k].x += ut;
      out += res[k].x * s[k].x - res[k].y * s[k].y;
    }
    p.y[at] = from_f32<T>(to_f32(p.x2[at]) * (out + skip * ut));
  }
}

// One row (decode): the three kernels above in one launch, computing exactly what they compute
// for a single step: the new state in double as carry_kernel does, the output from the old state
// in float as output_kernel does.
template <typename T>
__global__ void step_kernel(ModalScanParams<T> p) {
  allow_next_kernel_to_start();  // the output projection's GEMV follows
  wait_for_previous_kernel();
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= p.dim) return;
  const float ut = p.u[c];
  float out = 0.f;
  for (int k = 0; k < p.state_size; ++k) {
    const int idx = c * p.state_size + k;
    const float2 pole = p.poles[idx], res = p.residues[idx], old = p.state[idx];
    const double cr = old.x, ci = old.y;
    p.state[idx] = {static_cast<float>(static_cast<double>(pole.x) * cr - static_cast<double>(pole.y) * ci + ut),
                    static_cast<float>(static_cast<double>(pole.x) * ci + static_cast<double>(pole.y) * cr)};
    float2 s = cmul(pole, old);
    s.x += ut;
    out += res.x * s.x - res.y * s.y;
  }
  p.y[c] = from_f32<T>(to_f32(p.x2[c]) * (out + to_f32(p.skip[c]) * ut));
}

}  // namespace

std::size_t modal_scan_scratch_elements(int rows, int dim, int state_size) {
  const std::size_t blocks = (static_cast<std::size_t>(rows) + kScanBlock - 1) / kScanBlock;
  return blocks * dim * state_size;
}

template <typename T>
void modal_scan(const ModalScanParams<T>& p, cudaStream_t stream) {
  if (p.state_size <= 0 || p.state_size > kMaxStateSize) throw std::invalid_argument("modal_scan: state_size must be 1..8");
  if (p.rows == 0) return;
  if (p.rows == 1) {
    launch_overlapping_previous(step_kernel<T>, (p.dim + 127) / 128, 128, stream, p);
    return;
  }
  const int blocks = (p.rows + kScanBlock - 1) / kScanBlock;
  const long long items = static_cast<long long>(blocks) * p.dim;
  const unsigned grid = static_cast<unsigned>((items + 127) / 128);
  local_state_kernel<T><<<grid, 128, 0, stream>>>(p, blocks);
  HD_CHECK_LAUNCH();
  carry_kernel<T><<<(p.dim * p.state_size + 127) / 128, 128, 0, stream>>>(p, blocks);
  HD_CHECK_LAUNCH();
  output_kernel<T><<<grid, 128, 0, stream>>>(p, blocks);
  HD_CHECK_LAUNCH();
}

template void modal_scan<float>(const ModalScanParams<float>&, cudaStream_t);
template void modal_scan<__nv_bfloat16>(const ModalScanParams<__nv_bfloat16>&, cudaStream_t);

}  // namespace hd
