#include <cuda_bf16.h>

#include "hd/kernels/cuda_check.h"
#include "hd/kernels/fft_conv.h"
#include "numeric.cuh"

namespace hd {
namespace {

__device__ double2 cpow_double(float2 p, double t) {  // p^t = exp(t log p)
  const double r = hypot(static_cast<double>(p.x), static_cast<double>(p.y));
  const double theta = atan2(static_cast<double>(p.y), static_cast<double>(p.x));
  const double mag = exp(t * log(r));
  double s, c;
  sincos(t * theta, &s, &c);
  return {mag * c, mag * s};
}

// h_t[c, t] for t < rows (zero after), u_t[c, t] = u[t, c] (zero after).
template <typename T>
__global__ void prepare_kernel(ModalScanParams<T> p, int n, float* u_t, float* h_t) {
  const long long idx = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<long long>(p.dim) * n) return;
  const int c = static_cast<int>(idx / n), t = static_cast<int>(idx % n);
  float h = 0.f, u = 0.f;
  if (t < p.rows) {
    double acc = 0;
    for (int k = 0; k < p.state_size; ++k) {
      const double2 pw = cpow_double(p.poles[c * p.state_size + k], t);
      const float2 r = p.residues[c * p.state_size + k];
      acc += r.x * pw.x - r.y * pw.y;
    }
    h = static_cast<float>(acc);
    u = p.u[static_cast<long long>(t) * p.dim + c];
  }
  h_t[idx] = h;
  u_t[idx] = u;
}

__global__ void multiply_kernel(cufftComplex* a, const cufftComplex* b, long long count) {
  const long long i = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (i >= count) return;
  const cufftComplex x = a[i], y = b[i];
  a[i] = {x.x * y.x - x.y * y.y, x.x * y.y + x.y * y.x};
}

template <typename T>
__global__ void output_kernel(ModalScanParams<T> p, int n, const float* conv) {
  const long long idx = blockIdx.x * static_cast<long long>(blockDim.x) + threadIdx.x;
  if (idx >= static_cast<long long>(p.rows) * p.dim) return;
  const int t = static_cast<int>(idx / p.dim), c = static_cast<int>(idx % p.dim);
  double acc = static_cast<double>(conv[static_cast<long long>(c) * n + t]) / n;
  for (int k = 0; k < p.state_size; ++k) {  // the state carried in from earlier chunks
    const float2 s = p.state[c * p.state_size + k];
    if (s.x == 0.f && s.y == 0.f) continue;
    const double2 pw = cpow_double(p.poles[c * p.state_size + k], t + 1.0);
    const float2 r = p.residues[c * p.state_size + k];
    const double re = pw.x * s.x - pw.y * s.y, im = pw.x * s.y + pw.y * s.x;
    acc += r.x * re - r.y * im;
  }
  const float u = p.u[idx];
  p.y[idx] = from_f32<T>(to_f32(p.x2[idx]) * static_cast<float>(acc + to_f32(p.skip[c]) * u));
}

// s <- p^rows s + sum_k p^(rows-1-k) u[k], stepped in double per (channel, state).
template <typename T>
__global__ void advance_state_kernel(ModalScanParams<T> p) {
  const int idx = blockIdx.x * blockDim.x + threadIdx.x;
  if (idx >= p.dim * p.state_size) return;
  const int c = idx / p.state_size;
  const float2 pf = p.poles[idx];
  double sr = p.state[idx].x, si = p.state[idx].y;
  for (int t = 0; t < p.rows; ++t) {
    const double nr = pf.x * sr - pf.y * si + p.u[static_cast<long long>(t) * p.dim + c];
    const double ni = pf.x * si + pf.y * sr;
    sr = nr;
    si = ni;
  }
  p.state[idx] = {static_cast<float>(sr), static_cast<float>(si)};
}

unsigned grid_for(long long n) { return static_cast<unsigned>((n + 255) / 256); }

}  // namespace

FftLongConv::Plan& FftLongConv::plan_for(int n) {
  auto it = plans_.find(n);
  if (it != plans_.end()) return it->second;
  Plan plan;
  const std::size_t real = static_cast<std::size_t>(dim_) * n, spec = static_cast<std::size_t>(dim_) * (n / 2 + 1);
  plan.fft = std::make_unique<RealFftPlan>(n, dim_, stream_);
  plan.u_t = DeviceBuffer<float>(real);
  plan.h_t = DeviceBuffer<float>(real);
  plan.conv = DeviceBuffer<float>(real);
  plan.u_f = DeviceBuffer<cufftComplex>(spec);
  plan.h_f = DeviceBuffer<cufftComplex>(spec);
  return plans_.emplace(n, std::move(plan)).first->second;
}

template <typename T>
void FftLongConv::run(const ModalScanParams<T>& p) {
  if (p.rows == 0) return;
  if (p.dim != dim_) throw std::invalid_argument("FftLongConv: built for another channel count");
  int n = 2;
  while (n < 2 * p.rows) n *= 2;
  Plan& plan = plan_for(n);
  const long long real = static_cast<long long>(p.dim) * n, spec = static_cast<long long>(p.dim) * (n / 2 + 1);
  prepare_kernel<T><<<grid_for(real), 256, 0, stream_>>>(p, n, plan.u_t.data(), plan.h_t.data());
  HD_CHECK_LAUNCH();
  plan.fft->forward(plan.u_t.data(), plan.u_f.data());
  plan.fft->forward(plan.h_t.data(), plan.h_f.data());
  multiply_kernel<<<grid_for(spec), 256, 0, stream_>>>(plan.u_f.data(), plan.h_f.data(), spec);
  HD_CHECK_LAUNCH();
  plan.fft->inverse(plan.u_f.data(), plan.conv.data());
  output_kernel<T><<<grid_for(static_cast<long long>(p.rows) * p.dim), 256, 0, stream_>>>(p, n, plan.conv.data());
  HD_CHECK_LAUNCH();
  advance_state_kernel<T><<<grid_for(static_cast<long long>(p.dim) * p.state_size), 256, 0, stream_>>>(p);
  HD_CHECK_LAUNCH();
}

template void FftLongConv::run<float>(const ModalScanParams<float>&);
template void FftLongConv::run<__nv_bfloat16>(const ModalScanParams<__nv_bfloat16>&);

}  // namespace hd
