// See vector_kernels.h.
#include "vector_kernels.h"

#include <math.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FUNNEL_VEC_X86 1
#include <immintrin.h>
#define CPU_SUPPORTS(feature) (__builtin_cpu_init(), __builtin_cpu_supports(feature) != 0)
#else
#define CPU_SUPPORTS(feature) 0
#endif

int funnel_vec_supported(funnel_vec_kernel kernel) {
  switch (kernel) {
  case FUNNEL_VEC_AVX512: return CPU_SUPPORTS("avx512f");
  case FUNNEL_VEC_AVX2: return CPU_SUPPORTS("avx2") && CPU_SUPPORTS("fma");
  default: return 1;
  }
}

funnel_vec_kernel funnel_vec_best(void) {
  if (funnel_vec_supported(FUNNEL_VEC_AVX512)) return FUNNEL_VEC_AVX512;
  if (funnel_vec_supported(FUNNEL_VEC_AVX2)) return FUNNEL_VEC_AVX2;
  return FUNNEL_VEC_PORTABLE;
}

// The reduction every kernel ends with: s[j] += s[j + 8], then s[j] += s[j + 4], s[j] += s[j + 2],
// and s[0] + s[1].
static inline float reduce16(float *s) {
  for (int j = 0; j < 8; j++) s[j] += s[j + 8];
  for (int j = 0; j < 4; j++) s[j] += s[j + 4];
  for (int j = 0; j < 2; j++) s[j] += s[j + 2];
  return s[0] + s[1];
}

static float dot_portable(const float *a, const float *b, size_t n) {
  float s[16] = {0};
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; j++) s[j] = fmaf(a[i + j], b[i + j], s[j]);
  for (int j = 0; i + (size_t)j < n; j++) s[j] = fmaf(a[i + j], b[i + j], s[j]);
  return reduce16(s);
}

#ifdef FUNNEL_VEC_X86
__attribute__((target("avx2,fma")))
static inline __m256i tail_mask8(size_t left) {
  // Lanes below `left` (0..8) set: the masked loads read only the vector's own floats.
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)left), lanes);
}

__attribute__((target("avx2,fma")))
static float dot_avx2(const float *a, const float *b, size_t n) {
  __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    lo = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), lo);
    hi = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), hi);
  }
  if (i < n) {
    size_t left = n - i;
    __m256i m0 = tail_mask8(left), m1 = tail_mask8(left > 8 ? left - 8 : 0);
    lo = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m0), _mm256_maskload_ps(b + i, m0), lo);
    hi = _mm256_fmadd_ps(_mm256_maskload_ps(a + i + 8, m1), _mm256_maskload_ps(b + i + 8, m1), hi);
  }
  __m256 s8 = _mm256_add_ps(lo, hi);                                                   // s[j] + s[j + 8]
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));  // + s[j + 4]
  __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));                                   // + s[j + 2]
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));                    // s[0] + s[1]
}

__attribute__((target("avx512f")))
static float dot_avx512(const float *a, const float *b, size_t n) {
  __m512 s = _mm512_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) s = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s);
  if (i < n) {
    __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
    s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s);
  }
  __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(s), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(s), 1)));
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  return _mm_cvtss_f32(_mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1)));
}
#endif

float funnel_vec_dot(const float *a, const float *b, size_t n, funnel_vec_kernel kernel) {
#ifdef FUNNEL_VEC_X86
  if (kernel == FUNNEL_VEC_AVX512) return dot_avx512(a, b, n);
  if (kernel == FUNNEL_VEC_AVX2) return dot_avx2(a, b, n);
#endif
  (void)kernel;
  return dot_portable(a, b, n);
}

void funnel_vec_dots(const float *query, const float *vectors, size_t dimension, const uint32_t *ids, size_t count,
                     float *out, funnel_vec_kernel kernel) {
  const size_t bytes = dimension * sizeof(float);
  for (size_t i = 0; i < count; i++) {
    const char *row = (const char *)(vectors + (size_t)ids[i] * dimension);
    for (size_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(row + offset, 0, 3);
  }
#ifdef FUNNEL_VEC_X86
  if (kernel == FUNNEL_VEC_AVX512) {
    for (size_t i = 0; i < count; i++) out[i] = dot_avx512(query, vectors + (size_t)ids[i] * dimension, dimension);
    return;
  }
  if (kernel == FUNNEL_VEC_AVX2) {
    for (size_t i = 0; i < count; i++) out[i] = dot_avx2(query, vectors + (size_t)ids[i] * dimension, dimension);
    return;
  }
#endif
  for (size_t i = 0; i < count; i++) out[i] = dot_portable(query, vectors + (size_t)ids[i] * dimension, dimension);
}

#ifdef FUNNEL_VEC_X86
// dot_avx2's two accumulators for four consecutive rows, added lane by lane (s[j] + s[j + 8] of the
// reduction): each 16-float slice of the query is loaded once for the four rows. `full` floats
// come in whole slices; the masks cover the `left` after them, as in dot_avx2.
__attribute__((target("avx2,fma")))
static inline void rows4_sums8(const float *q, const float *row, size_t d, size_t full, size_t left, __m256i m0,
                               __m256i m1, __m256 *out) {
  const float *r0 = row, *r1 = row + d, *r2 = row + 2 * d, *r3 = row + 3 * d;
  __m256 lo0 = _mm256_setzero_ps(), hi0 = _mm256_setzero_ps(), lo1 = _mm256_setzero_ps(), hi1 = _mm256_setzero_ps();
  __m256 lo2 = _mm256_setzero_ps(), hi2 = _mm256_setzero_ps(), lo3 = _mm256_setzero_ps(), hi3 = _mm256_setzero_ps();
  for (size_t i = 0; i < full; i += 16) {
    __m256 qa = _mm256_loadu_ps(q + i), qb = _mm256_loadu_ps(q + i + 8);
    lo0 = _mm256_fmadd_ps(qa, _mm256_loadu_ps(r0 + i), lo0);
    hi0 = _mm256_fmadd_ps(qb, _mm256_loadu_ps(r0 + i + 8), hi0);
    lo1 = _mm256_fmadd_ps(qa, _mm256_loadu_ps(r1 + i), lo1);
    hi1 = _mm256_fmadd_ps(qb, _mm256_loadu_ps(r1 + i + 8), hi1);
    lo2 = _mm256_fmadd_ps(qa, _mm256_loadu_ps(r2 + i), lo2);
    hi2 = _mm256_fmadd_ps(qb, _mm256_loadu_ps(r2 + i + 8), hi2);
    lo3 = _mm256_fmadd_ps(qa, _mm256_loadu_ps(r3 + i), lo3);
    hi3 = _mm256_fmadd_ps(qb, _mm256_loadu_ps(r3 + i + 8), hi3);
  }
  if (left) {
    __m256 qa = _mm256_maskload_ps(q + full, m0), qb = _mm256_maskload_ps(q + full + 8, m1);
    lo0 = _mm256_fmadd_ps(qa, _mm256_maskload_ps(r0 + full, m0), lo0);
    hi0 = _mm256_fmadd_ps(qb, _mm256_maskload_ps(r0 + full + 8, m1), hi0);
    lo1 = _mm256_fmadd_ps(qa, _mm256_maskload_ps(r1 + full, m0), lo1);
    hi1 = _mm256_fmadd_ps(qb, _mm256_maskload_ps(r1 + full + 8, m1), hi1);
    lo2 = _mm256_fmadd_ps(qa, _mm256_maskload_ps(r2 + full, m0), lo2);
    hi2 = _mm256_fmadd_ps(qb, _mm256_maskload_ps(r2 + full + 8, m1), hi2);
    lo3 = _mm256_fmadd_ps(qa, _mm256_maskload_ps(r3 + full, m0), lo3);
    hi3 = _mm256_fmadd_ps(qb, _mm256_maskload_ps(r3 + full + 8, m1), hi3);
  }
  out[0] = _mm256_add_ps(lo0, hi0);
  out[1] = _mm256_add_ps(lo1, hi1);
  out[2] = _mm256_add_ps(lo2, hi2);
  out[3] = _mm256_add_ps(lo3, hi3);
}

// Eight rows' dot_avx2 results from their eight-lane sums, with the single-row reduction's pairs:
// + s[j + 4], then + s[j + 2], then s[0] + s[1], each step done for several rows in one register.
__attribute__((target("avx2,fma")))
static inline __m256 reduce8x8(__m256 r0, __m256 r1, __m256 r2, __m256 r3, __m256 r4, __m256 r5, __m256 r6, __m256 r7) {
  // s[j] + s[j + 4]: row pairs in one register, [a0..a3 | b0..b3].
  __m256 a = _mm256_add_ps(_mm256_permute2f128_ps(r0, r1, 0x20), _mm256_permute2f128_ps(r0, r1, 0x31));
  __m256 b = _mm256_add_ps(_mm256_permute2f128_ps(r2, r3, 0x20), _mm256_permute2f128_ps(r2, r3, 0x31));
  __m256 c = _mm256_add_ps(_mm256_permute2f128_ps(r4, r5, 0x20), _mm256_permute2f128_ps(r4, r5, 0x31));
  __m256 d = _mm256_add_ps(_mm256_permute2f128_ps(r6, r7, 0x20), _mm256_permute2f128_ps(r6, r7, 0x31));
  // s[j] + s[j + 2]: [r0 r0 r2 r2 | r1 r1 r3 r3] and [r4 r4 r6 r6 | r5 r5 r7 r7].
  __m256 ab = _mm256_add_ps(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 2, 3, 2)));
  __m256 cd = _mm256_add_ps(_mm256_shuffle_ps(c, d, _MM_SHUFFLE(1, 0, 1, 0)), _mm256_shuffle_ps(c, d, _MM_SHUFFLE(3, 2, 3, 2)));
  // s[0] + s[1]: [r0 r2 r4 r6 | r1 r3 r5 r7], then into row order.
  __m256 sums = _mm256_add_ps(_mm256_shuffle_ps(ab, cd, _MM_SHUFFLE(2, 0, 2, 0)), _mm256_shuffle_ps(ab, cd, _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm256_permutevar8x32_ps(sums, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Appends the rows of `sums` (eight consecutive rows from `first`) that are not below `threshold`
// to out_scores / out_rows at `kept`; returns the new count. A NaN is kept, as !(x < t) keeps it.
__attribute__((target("avx2,fma")))
static inline size_t keep8(__m256 sums, __m256 threshold, uint32_t first, float *out_scores, uint32_t *out_rows,
                           size_t kept) {
  unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(sums, threshold, _CMP_NLT_UQ));
  if (!mask) return kept;
  float lanes[8];
  _mm256_storeu_ps(lanes, sums);
  while (mask) {
    const unsigned lane = (unsigned)__builtin_ctz(mask);
    out_scores[kept] = lanes[lane];
    out_rows[kept] = first + lane;
    kept++;
    mask &= mask - 1;
  }
  return kept;
}

__attribute__((target("avx2,fma")))
static size_t scan_above_avx2(const float *query, const float *vectors, size_t dimension, size_t count, float threshold,
                              float *out_scores, uint32_t *out_rows) {
  const size_t full = dimension & ~(size_t)15, left = dimension - full;
  const __m256i m0 = tail_mask8(left), m1 = tail_mask8(left > 8 ? left - 8 : 0);
  const __m256 t = _mm256_set1_ps(threshold);
  size_t i = 0, kept = 0;
  for (; i + 8 <= count; i += 8) {
    const float *row = vectors + i * dimension;
    __m256 r[8];
    rows4_sums8(query, row, dimension, full, left, m0, m1, r);
    rows4_sums8(query, row + 4 * dimension, dimension, full, left, m0, m1, r + 4);
    kept = keep8(reduce8x8(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]), t, (uint32_t)i, out_scores, out_rows, kept);
  }
  for (; i < count; i++) {
    const float score = dot_avx2(query, vectors + i * dimension, dimension);
    if (!(score < threshold)) { out_scores[kept] = score; out_rows[kept] = (uint32_t)i; kept++; }
  }
  return kept;
}
#endif

size_t funnel_vec_scan_above(const float *query, const float *vectors, size_t dimension, size_t count, float threshold,
                             float *out_scores, uint32_t *out_rows, funnel_vec_kernel kernel) {
#ifdef FUNNEL_VEC_X86
  // The AVX-512 kernel's sums are the AVX2 kernel's, so a CPU with either scans with AVX2.
  if (kernel == FUNNEL_VEC_AVX512 || kernel == FUNNEL_VEC_AVX2)
    return scan_above_avx2(query, vectors, dimension, count, threshold, out_scores, out_rows);
#endif
  (void)kernel;
  size_t kept = 0;
  for (size_t i = 0; i < count; i++) {
    const float score = dot_portable(query, vectors + i * dimension, dimension);
    if (!(score < threshold)) { out_scores[kept] = score; out_rows[kept] = (uint32_t)i; kept++; }
  }
  return kept;
}

size_t funnel_vec_visit(const uint32_t *links, size_t count, uint16_t *marks, uint16_t stamp, const float *query,
                        const float *vectors, size_t dimension, uint32_t *out_ids, float *out_scores,
                        funnel_vec_kernel kernel) {
  for (size_t i = 0; i < count; i++) __builtin_prefetch(marks + links[i], 1, 3);
  size_t fresh = 0;
  for (size_t i = 0; i < count; i++) {
    const uint32_t id = links[i];
    if (marks[id] == stamp) continue;
    marks[id] = stamp;
    out_ids[fresh++] = id;
  }
  funnel_vec_dots(query, vectors, dimension, out_ids, fresh, out_scores, kernel);
  return fresh;
}
