// bench_device_peaks: the ceilings other benchmarks are measured against, on this machine.
//   GPU (when present): bf16 GEMM rate through cuBLAS (8192^3 by default, random data) and
//   device-to-device copy bandwidth (bytes read + written).
//   CPU: float32 GEMM rate through OpenBLAS and memcpy bandwidth.
// Options: --gemm N (GPU GEMM size), --cpu-gemm N, --copy-mib N, --reps N.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "bench_args.h"
#include "bench_report.h"
#include "hd/kernels/device.h"

#if HD_HAVE_CUDA
#include "gpu_peaks.h"
#endif

namespace {

using Clock = std::chrono::steady_clock;

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void cpu_peaks(hd::bench::BenchReport& report, int n, int copy_mib, int reps) {
  std::mt19937 gen(1);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<float> a(static_cast<size_t>(n) * n), b(a.size()), c(a.size());
  for (auto& v : a) v = u(gen);
  for (auto& v : b) v = u(gen);
  std::vector<double> secs;
  for (int r = 0; r < reps + 1; ++r) {
    auto t0 = Clock::now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.f, a.data(), n, b.data(), n, 0.f, c.data(), n);
    if (r > 0) secs.push_back(std::chrono::duration<double>(Clock::now() - t0).count());  // first run warms up
  }
  double s = median(secs);
  report.add_row({{"unit", "CPU"}, {"what", "sgemm " + std::to_string(n) + "^3 (OpenBLAS)"},
                  {"median_ms", s * 1e3}, {"rate", 2.0 * n * n * n / s / 1e9}, {"rate_unit", "GFLOP/s"}});

  size_t bytes = static_cast<size_t>(copy_mib) << 20;
  std::vector<char> src(bytes, 1), dst(bytes, 0);
  secs.clear();
  for (int r = 0; r < reps + 1; ++r) {
    auto t0 = Clock::now();
    std::memcpy(dst.data(), src.data(), bytes);
    if (r > 0) secs.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  s = median(secs);
  report.add_row({{"unit", "CPU"}, {"what", "memcpy " + std::to_string(copy_mib) + " MiB (read+write)"},
                  {"median_ms", s * 1e3}, {"rate", 2.0 * bytes / s / 1e9}, {"rate_unit", "GB/s"}});
}

#if HD_HAVE_CUDA
void gpu_peaks(hd::bench::BenchReport& report, int n, int copy_mib, int reps) {
  hd::CudaContext ctx;
  const hd::bench::GpuPeaks peaks = hd::bench::measure_gpu_peaks(ctx, n, copy_mib, reps);
  report.add_row({{"unit", "GPU"}, {"what", "bf16 GEMM " + std::to_string(n) + "^3 (cuBLAS, fp32 accumulate)"},
                  {"median_ms", peaks.gemm_ms}, {"rate", peaks.gemm_tflops}, {"rate_unit", "TFLOP/s"}});
  report.add_row({{"unit", "GPU"}, {"what", "device copy " + std::to_string(copy_mib) + " MiB (read+write)"},
                  {"median_ms", peaks.copy_ms}, {"rate", peaks.copy_tbps}, {"rate_unit", "TB/s"}});
}
#endif

}  // namespace

int main(int argc, char** argv) {
  try {
    using hd::bench::arg_int;
    const int gemm = arg_int(argc, argv, "--gemm", 8192), cpu_gemm = arg_int(argc, argv, "--cpu-gemm", 1024);
    const int copy_mib = arg_int(argc, argv, "--copy-mib", 1024), reps = arg_int(argc, argv, "--reps", 10);
    hd::bench::BenchReport report("device_peaks");
    report.set("gpu_gemm_n", gemm);
    report.set("cpu_gemm_n", cpu_gemm);
    report.set("copy_mib", copy_mib);
    report.set("repetitions", reps);
#if HD_HAVE_CUDA
    if (hd::query_device(0).available) gpu_peaks(report, gemm, copy_mib, reps);
    else report.note("no CUDA device: GPU rows not measured (" + hd::query_device(0).reason + ")");
#else
    report.note("built without CUDA: GPU rows not measured");
#endif
    cpu_peaks(report, cpu_gemm, std::min(copy_mib, 256), reps);
    report.note("medians after warm-up; random inputs; copy bandwidth counts bytes read plus bytes written");
    report.print_table(std::cout);
    std::cout << "results: " << report.write_json().string() << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "bench_device_peaks: error: " << e.what() << "\n";
    return 1;
  }
}
