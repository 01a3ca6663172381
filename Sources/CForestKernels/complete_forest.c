// See complete_forest.h. The kernel is compiled for AVX-512 F with a target attribute and chosen at
// run time by the caller, so the package still builds for any x86-64 or ARM target.
#include "complete_forest.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define FUNNEL_CF_X86 1
#include <immintrin.h>
#endif

#ifdef FUNNEL_CF_X86
// The node of each lane at `level` (h: heap indices within the tree): threshold and slot.
__attribute__((target("avx512f"), always_inline)) static inline void
node_at(const float *t, const uint32_t *s, int level, __m512i h, __mmask16 active, __m512 *threshold, __m512i *slot) {
  if (level <= 4) {
    // The level's 2^level nodes fit one register: permute by the index within the level.
    int first = (1 << level) - 1;
    __mmask16 present = (__mmask16)((1u << (1 << level)) - 1);
    __m512i within = _mm512_sub_epi32(h, _mm512_set1_epi32(first));
    *threshold = _mm512_permutexvar_ps(within, _mm512_maskz_loadu_ps(present, t + first));
    *slot = _mm512_permutexvar_epi32(within, _mm512_maskz_loadu_epi32(present, s + first));
  } else if (level == 5) {
    // 32 nodes: a two-register permute.
    __m512i within = _mm512_sub_epi32(h, _mm512_set1_epi32(31));
    *threshold = _mm512_permutex2var_ps(_mm512_loadu_ps(t + 31), within, _mm512_loadu_ps(t + 47));
    *slot = _mm512_permutex2var_epi32(_mm512_loadu_si512(s + 31), within, _mm512_loadu_si512(s + 47));
  } else {
    *threshold = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), active, h, t, 4);
    *slot = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), active, h, (const int *)s, 4);
  }
}

// One step for one vector of rows: read each lane's value, go left (2h + 1) when x <= T. Values are
// slot-major (slot k of row r at k x 32 + r), so `lane` is the row within the block.
__attribute__((target("avx512f"), always_inline)) static inline __m512i
step(const float *pairs, __m512i lane, __m512 threshold, __m512i slot, __m512i h, __mmask16 active) {
  __m512i at = _mm512_add_epi32(_mm512_slli_epi32(slot, 5), lane);
  __m512 x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), active, at, pairs, 4);
  __mmask16 left = _mm512_cmp_ps_mask(x, threshold, _CMP_LE_OQ);
  __m512i next = _mm512_add_epi32(_mm512_add_epi32(h, h), _mm512_set1_epi32(2));
  return _mm512_mask_sub_epi32(next, left, next, _mm512_set1_epi32(1));
}

// Adds lanes' leaves (leaf index per lane) to two 8-double accumulators.
__attribute__((target("avx512f"), always_inline)) static inline void
add_leaves(const double *leaves, __m512i index, __mmask16 active, __m512d *low, __m512d *high) {
  __m512d a = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), (__mmask8)active, _mm512_castsi512_si256(index), leaves, 8);
  __m512d b = _mm512_mask_i32gather_pd(_mm512_setzero_pd(), (__mmask8)(active >> 8),
                                       _mm512_extracti64x4_epi64(index, 1), leaves, 8);
  *low = _mm512_add_pd(*low, a);
  *high = _mm512_add_pd(*high, b);
}

// Picks, per lane, `yes` where `pick` is set and `no` elsewhere.
static inline __mmask16 select16(__mmask16 pick, __mmask16 yes, __mmask16 no) {
  return (__mmask16)((pick & yes) | (~pick & no));
}

// The first three levels of one tree for one row vector, without gathers: each of their seven nodes
// is compared for all 16 rows (its slot's values are one contiguous load), and each lane keeps the
// results on its own path (go left at level l: L_l). A gather costs about eight loads and compares
// on AMD Zen 4 (Benchmarks/ranking/gather_cost.c), so comparing seven nodes beats gathering two
// levels' values; a fourth level compared whole (eight more nodes) measured no faster.
// Returns the lane's heap index at level 3 (7...14).
__attribute__((target("avx512f"), always_inline)) static inline __m512i
first_three_levels(const float *t, const uint32_t *s, const float *pairs, int v, __mmask16 active) {
  __mmask16 m[7];
  for (int i = 0; i < 7; i++) {
    __m512 x = _mm512_maskz_loadu_ps(active, pairs + (size_t)s[i] * 32 + 16 * v);
    m[i] = _mm512_cmp_ps_mask(x, _mm512_set1_ps(t[i]), _CMP_LE_OQ);
  }
  __mmask16 l0 = m[0];
  __mmask16 l1 = select16(l0, m[1], m[2]);
  __mmask16 l2 = select16(l0, select16(l1, m[3], m[4]), select16(l1, m[5], m[6]));
  // h = 7 + 4 (right at 0) + 2 (right at 1) + (right at 2).
  __m512i h = _mm512_set1_epi32(7);
  h = _mm512_mask_add_epi32(h, (__mmask16)~l0, h, _mm512_set1_epi32(4));
  h = _mm512_mask_add_epi32(h, (__mmask16)~l1, h, _mm512_set1_epi32(2));
  return _mm512_mask_add_epi32(h, (__mmask16)~l2, h, _mm512_set1_epi32(1));
}

// Adds lanes' leaves to two 8-double accumulators for a tree of at most 64 leaves that are all
// floats (`float_leaves`): they sit in at most four registers, so a lane's leaf is a permute (two
// and a blend for 64), not two gathers. Widening a float to double is exact: the same sums.
__attribute__((target("avx512f"), always_inline)) static inline void
add_float_leaves(const float *leaves, int depth, __m512i index, __m512d *low, __m512d *high) {
  int n = 1 << depth;
  __m512 value;
  if (n <= 16) {
    value = _mm512_permutexvar_ps(index, _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1), leaves));
  } else {
    __m512 lo = _mm512_permutex2var_ps(_mm512_loadu_ps(leaves), index,
                                       _mm512_maskz_loadu_ps((__mmask16)((1u << (n - 16)) - 1), leaves + 16));
    if (n <= 32) {
      value = lo;
    } else {
      __m512 hi = _mm512_permutex2var_ps(_mm512_loadu_ps(leaves + 32), index, _mm512_loadu_ps(leaves + 48));
      value = _mm512_mask_blend_ps(_mm512_test_epi32_mask(index, _mm512_set1_epi32(32)), lo, hi);
    }
  }
  *low = _mm512_add_pd(*low, _mm512_cvtps_pd(_mm512_castps512_ps256(value)));
  *high = _mm512_add_pd(*high, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(value), 1))));
}

// `trees` (1 or 2, constant after inlining) trees of one depth for the block's two row vectors:
// 2 x trees independent chains of gathers in flight. Leaves are added tree by tree.
__attribute__((target("avx512f"), always_inline)) static inline void
walk(const funnel_cf_forest *f, size_t tree, int trees, const float *pairs, const __m512i lane[2],
     const __mmask16 active[2], __m512d sums[4]) {
  int depth = f->depths[tree];
  __m512i h[2][2];
  int level = 1;
  if (depth >= 3) {
    for (int k = 0; k < trees; k++) {
      const float *t = f->thresholds + f->node_offsets[tree + k];
      const uint32_t *s = f->slots + f->node_offsets[tree + k];
      for (int v = 0; v < 2; v++) h[k][v] = first_three_levels(t, s, pairs, v, active[v]);
    }
    level = 3;
  } else {
    for (int k = 0; k < trees; k++) {
      // The root is every lane's node: its slot's values are one contiguous load per vector.
      const float *t = f->thresholds + f->node_offsets[tree + k];
      const uint32_t *s = f->slots + f->node_offsets[tree + k];
      __m512 root = _mm512_set1_ps(t[0]);
      __m512i two = _mm512_set1_epi32(2), one = _mm512_set1_epi32(1);
      for (int v = 0; v < 2; v++) {
        __m512 x = _mm512_maskz_loadu_ps(active[v], pairs + (size_t)s[0] * 32 + 16 * v);
        h[k][v] = _mm512_mask_sub_epi32(two, _mm512_cmp_ps_mask(x, root, _CMP_LE_OQ), two, one);
      }
    }
  }
  for (; level < depth; level++) {
    for (int k = 0; k < trees; k++) {
      const float *t = f->thresholds + f->node_offsets[tree + k];
      const uint32_t *s = f->slots + f->node_offsets[tree + k];
      for (int v = 0; v < 2; v++) {
        __m512 threshold;
        __m512i slot;
        node_at(t, s, level, h[k][v], active[v], &threshold, &slot);
        h[k][v] = step(pairs, lane[v], threshold, slot, h[k][v], active[v]);
      }
    }
  }
  __m512i first = _mm512_set1_epi32((1 << depth) - 1);
  for (int k = 0; k < trees; k++) {
    if (f->float_leaves && depth <= 6) {
      const float *leaves = f->float_leaves + f->leaf_offsets[tree + k];
      for (int v = 0; v < 2; v++) {
        add_float_leaves(leaves, depth, _mm512_sub_epi32(h[k][v], first), &sums[2 * v], &sums[2 * v + 1]);
      }
      continue;
    }
    const double *leaves = f->leaves + f->leaf_offsets[tree + k];
    for (int v = 0; v < 2; v++) {
      add_leaves(leaves, _mm512_sub_epi32(h[k][v], first), active[v], &sums[2 * v], &sums[2 * v + 1]);
    }
  }
}

static inline __mmask16 lanes(size_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1); }

__attribute__((target("avx512f")))
void funnel_cf_add_avx512(const funnel_cf_forest *f, const float *pairs, size_t count, double *out) {
  __m512i lane[2];
  lane[0] = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  lane[1] = _mm512_add_epi32(lane[0], _mm512_set1_epi32(16));
  size_t n = count < 32 ? count : 32;
  __mmask16 active[2] = {lanes(n), n > 16 ? lanes(n - 16) : 0};
  __m512d sums[4];
  for (int v = 0; v < 2; v++) {
    sums[2 * v] = _mm512_maskz_loadu_pd((__mmask8)active[v], out + 16 * v);
    sums[2 * v + 1] = _mm512_maskz_loadu_pd((__mmask8)(active[v] >> 8), out + 16 * v + 8);
  }
  size_t tree = 0;
  while (tree < f->tree_count) {
    if (tree + 1 < f->tree_count && f->depths[tree] == f->depths[tree + 1]) {
      walk(f, tree, 2, pairs, lane, active, sums);
      tree += 2;
    } else {
      walk(f, tree, 1, pairs, lane, active, sums);
      tree += 1;
    }
  }
  for (int v = 0; v < 2; v++) {
    _mm512_mask_storeu_pd(out + 16 * v, (__mmask8)active[v], sums[2 * v]);
    _mm512_mask_storeu_pd(out + 16 * v + 8, (__mmask8)(active[v] >> 8), sums[2 * v + 1]);
  }
}
#else
void funnel_cf_add_avx512(const funnel_cf_forest *f, const float *pairs, size_t count, double *out) {
  (void)f; (void)pairs; (void)count; (void)out;
  __builtin_trap();  // callers check funnel_cpu_has_avx512f() first
}
#endif
