internal import COpenBLAS

/// Dense single-precision kernels for the MLP scorer, through OpenBLAS. The only place Funnel calls
/// BLAS, so the C interop stays in this small target.
///
/// Thread-safety: every function may be called from many threads at once. OpenBLAS is pinned to one
/// thread per call (scoring is single-threaded per request; requests are the parallelism).
public enum DenseMath {
  /// Pins OpenBLAS to the calling thread once per process: its own worker threads would fight the
  /// request threads for the two cores.
  private static let singleThreaded: Void = { openblas_set_num_threads(1) }()

  /// `c[rows x outputs] = a[rows x inner] * wᵀ` (or, with `accumulate`, `c += a * wᵀ`), where `w` is
  /// `outputs x inner` row-major (one row per output unit, the layout of ONNX `Gemm` with
  /// `transB = 1` and of PyTorch `Linear`). All matrices row-major and dense; one output is a
  /// matrix-vector product (`sgemv`: OpenBLAS's GEMM would pack a one-column matrix for nothing).
  /// O(rows * inner * outputs) flops; allocates nothing.
  public static func multiplyByTransposed(
    _ a: UnsafePointer<Float>, rows: Int, inner: Int,
    weights w: UnsafePointer<Float>, outputs: Int,
    into c: UnsafeMutablePointer<Float>, accumulate: Bool = false
  ) {
    _ = singleThreaded
    guard rows > 0, outputs > 0 else { return }
    guard inner > 0 else {
      if !accumulate { c.update(repeating: 0, count: rows * outputs) }
      return
    }
    let beta: Float = accumulate ? 1 : 0
    if outputs == 1 {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(rows), Int32(inner), 1, a, Int32(inner), w, 1, beta, c, 1)
      return
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inner),
                1, a, Int32(inner), w, Int32(inner), beta, c, Int32(outputs))
  }
}
