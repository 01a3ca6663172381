import Foundation
import CForestKernels

/// What the CPU offers the C scoring kernels (`CForestKernels`), asked once per process.
/// Thread-safe (immutable after first use).
enum CPUFeatures {
  /// AVX-512 F: the complete-tree and QuickScorer kernels' AVX-512 versions run only where it is.
  static let avx512f = funnel_cpu_has_avx512f() != 0
  /// AVX2: the complete-tree and QuickScorer kernels' AVX2 versions run where it is and AVX-512 is not.
  static let avx2 = funnel_cpu_has_avx2() != 0
  /// The widest vector kernels chosen on this CPU: "AVX-512", "AVX2" or "portable".
  static var vectorClass: String { avx512f ? "AVX-512" : avx2 ? "AVX2" : "portable" }
  /// The CPU's model name (Linux's /proc/cpuinfo), or "unknown CPU".
  static var model: String {
    guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let line = info.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
          let colon = line.firstIndex(of: ":") else { return "unknown CPU" }
    return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
  }
}
