// See complete_forest.h: the complete-tree walk for x86-64 CPUs with AVX2 but without AVX-512 (AMD
// Zen 2 and 3, Intel client cores). Gathers are slow there (an AVX2 walk that gathered each lane's
// node and value ran no faster than eight scalar walks on Zen 3), so the kernel splits each tree:
//  - its top levels (at most four: 15 nodes) for eight rows at once, without gathers: every node of
//    a level is compared against its feature's eight values (one contiguous load, rows being
//    slot-major), and a tree of blends keyed on the lanes' earlier decisions picks each lane's
//    result. Four levels cost 15 compares and 11 blends per eight rows, against 32 dependent scalar
//    steps;
//  - the levels below, where a level has 16 nodes or more and comparing them all costs more than
//    walking, row by row: eight rows' steps interleaved, as in the portable walk.
// Leaves are added tree by tree in doubles, so the sums are bit-identical to the other walks.
#include "complete_forest.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2"), always_inline)) static inline
/// Levels compared whole, at most.
#define TOP_LEVELS 4

// Hides a compare's result from the optimiser: left alone, clang narrows the masks of the select
// trees to 16-bit lanes and packs them back and forth, which tripled the cost of this part.
AVX2 __m256 opaque(__m256 v) {
  __asm__("" : "+x"(v));
  return v;
}

// x <= T for node n's feature in the eight rows at `rows` (slot-major: slot k at rows + k x 32).
AVX2 __m256 goes_left(const float *t, const uint32_t *s, int n, const float *rows) {
  return opaque(_mm256_cmp_ps(_mm256_loadu_ps(rows + (size_t)s[n] * 32), _mm256_set1_ps(t[n]), _CMP_LE_OQ));
}

// The heap index, after the tree's first `levels` (1...TOP_LEVELS, constant after inlining) levels,
// of each of the eight rows at `rows`. `left[L]` is each lane's decision at level L; level L's
// 2^L decisions are reduced pairwise by the deepest earlier decision first.
AVX2 __m256i top_levels(const float *t, const uint32_t *s, const float *rows, int levels) {
  __m256 left[TOP_LEVELS];
  __m256i right_bits = _mm256_setzero_si256();
  _Pragma("clang loop unroll(full)") for (int level = 0; level < levels; level++) {
    __m256 pick[1 << (TOP_LEVELS - 1)];
    int first = (1 << level) - 1;
    _Pragma("clang loop unroll(full)") for (int j = 0; j < (1 << level); j++) pick[j] = goes_left(t, s, first + j, rows);
    _Pragma("clang loop unroll(full)") for (int k = level - 1; k >= 0; k--) {
      _Pragma("clang loop unroll(full)") for (int j = 0; j < (1 << k); j++) {
        pick[j] = _mm256_blendv_ps(pick[2 * j + 1], pick[2 * j], left[k]);
      }
    }
    left[level] = pick[0];
    __m256i bit = _mm256_set1_epi32(1 << (levels - 1 - level));
    right_bits = _mm256_or_si256(right_bits, _mm256_andnot_si256(_mm256_castps_si256(left[level]), bit));
  }
  return _mm256_add_epi32(right_bits, _mm256_set1_epi32((1 << levels) - 1));
}

// One scalar step of a row (slot-major, so its slot k is at row[k x 32]).
static inline int32_t step(int32_t h, const float *row, const float *t, const uint32_t *s) {
  return 2 * h + 2 - (row[(size_t)s[h] * 32] <= t[h]);
}

__attribute__((target("avx2")))
void funnel_cf_add_avx2(const funnel_cf_forest *f, const float *pairs, size_t count, double *out) {
  int32_t h[32] __attribute__((aligned(32)));
  size_t vectors = (count + 7) / 8;
  for (size_t tree = 0; tree < f->tree_count; tree++) {
    const float *t = f->thresholds + f->node_offsets[tree];
    const uint32_t *s = f->slots + f->node_offsets[tree];
    int depth = f->depths[tree];
    int top = depth < TOP_LEVELS ? depth : TOP_LEVELS;
    for (size_t v = 0; v < vectors; v++) {
      const float *rows = pairs + 8 * v;
      __m256i index;
      switch (top) {
      case 1: index = top_levels(t, s, rows, 1); break;
      case 2: index = top_levels(t, s, rows, 2); break;
      case 3: index = top_levels(t, s, rows, 3); break;
      default: index = top_levels(t, s, rows, TOP_LEVELS); break;
      }
      _mm256_store_si256((__m256i *)(h + 8 * v), index);
    }
    const double *leaves = f->leaves + f->leaf_offsets[tree];
    const int32_t first_leaf = (1 << depth) - 1;  // heap index of the tree's first leaf
    size_t r = 0;
    for (; r + 8 <= count; r += 8) {
      const float *row = pairs + r;
      int32_t h0 = h[r], h1 = h[r + 1], h2 = h[r + 2], h3 = h[r + 3];
      int32_t h4 = h[r + 4], h5 = h[r + 5], h6 = h[r + 6], h7 = h[r + 7];
      for (int level = top; level < depth; level++) {
        h0 = step(h0, row, t, s);
        h1 = step(h1, row + 1, t, s);
        h2 = step(h2, row + 2, t, s);
        h3 = step(h3, row + 3, t, s);
        h4 = step(h4, row + 4, t, s);
        h5 = step(h5, row + 5, t, s);
        h6 = step(h6, row + 6, t, s);
        h7 = step(h7, row + 7, t, s);
        // Kept in general registers: clang otherwise packs the eight indices into a vector and
        // extracts each lane for its loads, which cost more than the steps.
        __asm__("" : "+r"(h0), "+r"(h1), "+r"(h2), "+r"(h3), "+r"(h4), "+r"(h5), "+r"(h6), "+r"(h7));
      }
      out[r] += leaves[h0 - first_leaf]; out[r + 1] += leaves[h1 - first_leaf];
      out[r + 2] += leaves[h2 - first_leaf]; out[r + 3] += leaves[h3 - first_leaf];
      out[r + 4] += leaves[h4 - first_leaf]; out[r + 5] += leaves[h5 - first_leaf];
      out[r + 6] += leaves[h6 - first_leaf]; out[r + 7] += leaves[h7 - first_leaf];
    }
    for (; r < count; r++) {
      int32_t x = h[r];
      for (int level = top; level < depth; level++) x = step(x, pairs + r, t, s);
      out[r] += leaves[x - first_leaf];
    }
  }
}
#else
void funnel_cf_add_avx2(const funnel_cf_forest *f, const float *pairs, size_t count, double *out) {
  (void)f; (void)pairs; (void)count; (void)out;
  __builtin_trap();  // callers check funnel_cpu_has_avx2() first
}
#endif
