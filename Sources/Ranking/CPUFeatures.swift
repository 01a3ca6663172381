import CForestKernels

/// What the CPU offers the C scoring kernels (`CForestKernels`), asked once per process.
/// Thread-safe (immutable after first use).
enum CPUFeatures {
  /// AVX-512 F: the complete-tree and QuickScorer kernels' AVX-512 versions run only where it is.
  static let avx512f = funnel_cpu_has_avx512f() != 0
}
