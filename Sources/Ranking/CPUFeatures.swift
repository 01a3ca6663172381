import CForestKernels

/// What the CPU offers the C scoring kernels (`CForestKernels`), asked once per process.
/// Thread-safe (immutable after first use).
enum CPUFeatures {
  /// AVX-512 F: the complete-tree and QuickScorer kernels' AVX-512 versions run only where it is.
  static let avx512f = funnel_cpu_has_avx512f() != 0
  /// AVX2: the complete-tree kernel's AVX2 version runs where it is and AVX-512 is not.
  static let avx2 = funnel_cpu_has_avx2() != 0
}
