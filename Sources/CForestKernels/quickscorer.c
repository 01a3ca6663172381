// See quickscorer.h. Three kernels with one structure: a portable one (32-lane loops the compiler
// may vectorise), an AVX2 one and an AVX-512 one, selected at run time, so the package builds for
// any x86-64 or ARM target and still uses the widest vectors the CPU has.
#include "quickscorer.h"

#include <math.h>
#include <string.h>

// Rows per pass: a split's threshold and mask are loaded once for all of them.
#define LANES 32

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FUNNEL_QS_X86 1
#include <immintrin.h>
#endif

// Copies `lanes` rows into xt[c * LANES + lane]; unused lanes read -inf, which fails no split. Each
// list stops at its first threshold >= the largest value it sees: maxes[2 c] is the largest non-NaN
// value (splits that send NaN left), maxes[2 c + 1] the same, or NaN when a lane is NaN (splits that
// send NaN right then all fail for it: `!(T >= NaN)` keeps the loop to the list's end).
static void transpose(const float *values, size_t lanes, size_t columns, float *xt, float *maxes) {
  for (size_t c = 0; c < columns; c++) {
    float max = -INFINITY;
    int nan = 0;
    for (size_t lane = 0; lane < LANES; lane++) {
      float x = lane < lanes ? values[lane * columns + c] : -INFINITY;
      xt[c * LANES + lane] = x;
      nan |= x != x;
      max = x > max ? x : max;
    }
    maxes[2 * c] = max;
    maxes[2 * c + 1] = nan ? NAN : max;
  }
}

// Adds each tree's exit leaf (lowest bit of its mask) in tree order, lane by lane.
static inline void add_leaves(const funnel_qs_forest *forest, const funnel_qs_block *block, const uint64_t *v,
                              size_t lanes, double *out) {
  const double *leaves = forest->leaves + (size_t)block->first_tree * 64;
  for (uint32_t t = 0; t < block->tree_count; t++) {
    const uint64_t *m = v + LANES * (size_t)t;
    const double *leaf = leaves + 64 * (size_t)t;
    for (size_t lane = 0; lane < lanes; lane++) out[lane] += leaf[__builtin_ctzll(m[lane])];
  }
}

static void pass_portable(const funnel_qs_forest *forest, const float *xt, const float *maxes, size_t lanes,
                          double *out) {
  uint64_t v[FUNNEL_QS_MAX_BLOCK_TREES * LANES] __attribute__((aligned(64)));
  for (uint32_t b = 0; b < forest->block_count; b++) {
    const funnel_qs_block *block = &forest->blocks[b];
    memset(v, 0xff, sizeof(uint64_t) * LANES * block->tree_count);
    for (uint32_t l = block->first_list; l < block->first_list + block->list_count; l++) {
      const funnel_qs_list *list = &forest->lists[l];
      const float *x = xt + LANES * (size_t)list->column;
      const float max = maxes[2 * (size_t)list->column + list->nan_right];
      const funnel_qs_node *node = forest->nodes + list->start, *end = forest->nodes + list->end;
      // A split fails when x > T; NaN fails it only when it sends NaN right.
#define APPLY(FAILS)                                                  \
  for (; node != end && !(node->threshold >= max); node++) {          \
    uint64_t *m = v + LANES * (size_t)node->tree;                     \
    const float t = node->threshold;                                  \
    const uint64_t mask = node->mask;                                 \
    for (size_t lane = 0; lane < LANES; lane++) {                     \
      const float xl = x[lane];                                       \
      m[lane] &= (FAILS) ? mask : ~(uint64_t)0;                       \
    }                                                                 \
  }
      if (list->nan_right) {
        APPLY(!(xl <= t))
      } else {
        APPLY(xl > t)
      }
#undef APPLY
    }
    add_leaves(forest, block, v, lanes, out);
  }
}

#ifdef FUNNEL_QS_X86
__attribute__((target("avx512f")))
static void pass_avx512(const funnel_qs_forest *forest, const float *xt, const float *maxes, size_t lanes,
                        double *out) {
  uint64_t v[FUNNEL_QS_MAX_BLOCK_TREES * LANES] __attribute__((aligned(64)));
  const __m512i ones = _mm512_set1_epi64(-1);
  for (uint32_t b = 0; b < forest->block_count; b++) {
    const funnel_qs_block *block = &forest->blocks[b];
    for (uint32_t t = 0; t < 4 * block->tree_count; t++) _mm512_store_si512((void *)(v + 8 * (size_t)t), ones);
    for (uint32_t l = block->first_list; l < block->first_list + block->list_count; l++) {
      const funnel_qs_list *list = &forest->lists[l];
      const __m512 x = _mm512_loadu_ps(xt + LANES * (size_t)list->column), y = _mm512_loadu_ps(xt + LANES * (size_t)list->column + 16);
      const float max = maxes[2 * (size_t)list->column + list->nan_right];
      const funnel_qs_node *node = forest->nodes + list->start, *end = forest->nodes + list->end;
      // The predicate is an immediate, so each direction has its loop.
#define APPLY(PREDICATE)                                                                                    \
  for (; node != end && !(node->threshold >= max); node++) {                                                \
    const __m512 t = _mm512_set1_ps(node->threshold);                                                      \
    const __mmask16 fails = _mm512_cmp_ps_mask(x, t, PREDICATE), fails2 = _mm512_cmp_ps_mask(y, t, PREDICATE); \
    const __m512i mask = _mm512_set1_epi64((long long)node->mask);                                          \
    uint64_t *m = v + LANES * (size_t)node->tree;                                                           \
    __m512i a = _mm512_load_si512((const void *)m), b = _mm512_load_si512((const void *)(m + 8));            \
    __m512i c = _mm512_load_si512((const void *)(m + 16)), d = _mm512_load_si512((const void *)(m + 24));    \
    _mm512_store_si512((void *)m, _mm512_mask_and_epi64(a, (__mmask8)fails, a, mask));                      \
    _mm512_store_si512((void *)(m + 8), _mm512_mask_and_epi64(b, (__mmask8)(fails >> 8), b, mask));         \
    _mm512_store_si512((void *)(m + 16), _mm512_mask_and_epi64(c, (__mmask8)fails2, c, mask));              \
    _mm512_store_si512((void *)(m + 24), _mm512_mask_and_epi64(d, (__mmask8)(fails2 >> 8), d, mask));       \
  }
      if (list->nan_right) {
        APPLY(_CMP_NLE_UQ)
      } else {
        APPLY(_CMP_GT_OQ)
      }
#undef APPLY
    }
    add_leaves(forest, block, v, lanes, out);
  }
}

// AVX2 has no mask registers: a split's result must be a full-width lane mask to AND 64-bit leaf
// masks with. Comparing the rows as doubles (exact for floats, NaN alike) gives 64-bit lane masks
// straight from the compare, eight compares for 32 rows, where comparing floats would need eight
// widening shuffles more. Each row's mask becomes m & ~(fails & ~mask): an AND and an ANDNOT.
__attribute__((target("avx2")))
static void pass_avx2(const funnel_qs_forest *forest, const float *xt, const float *maxes, size_t lanes,
                      double *out) {
  uint64_t v[FUNNEL_QS_MAX_BLOCK_TREES * LANES] __attribute__((aligned(32)));
  const __m256i ones = _mm256_set1_epi64x(-1);
  for (uint32_t b = 0; b < forest->block_count; b++) {
    const funnel_qs_block *block = &forest->blocks[b];
    for (uint32_t t = 0; t < 8 * block->tree_count; t++) _mm256_store_si256((__m256i *)(v + 4 * (size_t)t), ones);
    for (uint32_t l = block->first_list; l < block->first_list + block->list_count; l++) {
      const funnel_qs_list *list = &forest->lists[l];
      const float *xs = xt + LANES * (size_t)list->column;
      __m256d x[8];
      for (int k = 0; k < 8; k++) x[k] = _mm256_cvtps_pd(_mm_loadu_ps(xs + 4 * k));
      const float max = maxes[2 * (size_t)list->column + list->nan_right];
      const funnel_qs_node *node = forest->nodes + list->start, *end = forest->nodes + list->end;
#define APPLY(PREDICATE)                                                                            \
  for (; node != end && !(node->threshold >= max); node++) {                                        \
    const __m256d t = _mm256_set1_pd((double)node->threshold);                                      \
    const __m256i cleared = _mm256_set1_epi64x((long long)~node->mask);                             \
    __m256i *m = (__m256i *)(v + LANES * (size_t)node->tree);                                       \
    for (int k = 0; k < 8; k++) {                                                                   \
      const __m256i fails = _mm256_castpd_si256(_mm256_cmp_pd(x[k], t, PREDICATE));                 \
      _mm256_store_si256(m + k, _mm256_andnot_si256(_mm256_and_si256(fails, cleared), _mm256_load_si256(m + k))); \
    }                                                                                               \
  }
      if (list->nan_right) {
        APPLY(_CMP_NLE_UQ)
      } else {
        APPLY(_CMP_GT_OQ)
      }
#undef APPLY
    }
    add_leaves(forest, block, v, lanes, out);
  }
}
#endif

void funnel_qs_add_margins(const funnel_qs_forest *forest, const float *values, size_t rows, size_t columns,
                           double *out, float *scratch, funnel_qs_kernel kernel) {
  float *xt = scratch;
  float *maxes = scratch + LANES * columns;
  for (size_t start = 0; start < rows; start += LANES) {
    size_t lanes = rows - start < LANES ? rows - start : LANES;
    transpose(values + start * columns, lanes, columns, xt, maxes);
#ifdef FUNNEL_QS_X86
    if (kernel == FUNNEL_QS_AVX512) {
      pass_avx512(forest, xt, maxes, lanes, out + start);
      continue;
    }
    if (kernel == FUNNEL_QS_AVX2) {
      pass_avx2(forest, xt, maxes, lanes, out + start);
      continue;
    }
#else
    (void)kernel;
#endif
    pass_portable(forest, xt, maxes, lanes, out + start);
  }
}
