// Inner products of float vectors for vector recall (HNSW search and build, exact search), in three
// kernels chosen at run time: AVX-512 F, AVX2 with FMA, and portable C. All three sum in one order —
// sixteen running sums (element i goes to sum i mod 16, fused multiply-adds, a zero-padded tail),
// then a fixed pairwise reduction — so every kernel returns the same float, bit for bit: a graph
// built on one CPU class is the graph built on another.
//
// All functions are re-entrant and allocate nothing.
#ifndef FUNNEL_VECTOR_KERNELS_H
#define FUNNEL_VECTOR_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// A kernel; run one only where funnel_vec_supported says the CPU can.
typedef enum { FUNNEL_VEC_PORTABLE = 0, FUNNEL_VEC_AVX2 = 1, FUNNEL_VEC_AVX512 = 2 } funnel_vec_kernel;

/// Whether this CPU runs `kernel` (AVX2 needs FMA too). The portable one runs everywhere.
int funnel_vec_supported(funnel_vec_kernel kernel);

/// The widest kernel this CPU runs.
funnel_vec_kernel funnel_vec_best(void);

/// The inner product of `a` and `b`, `n` floats each. O(n).
float funnel_vec_dot(const float *a, const float *b, size_t n, funnel_vec_kernel kernel);

/// out[i] = dot(query, vectors + ids[i] * dimension) for i < count; every row is prefetched before
/// the first product, so their cache misses overlap (the rows of a graph node's neighbours are
/// scattered over the whole matrix). O(count x dimension). (The scoring half of funnel_vec_visit.)
void funnel_vec_dots(const float *query, const float *vectors, size_t dimension, const uint32_t *ids, size_t count,
                     float *out, funnel_vec_kernel kernel);

/// Every row of a contiguous matrix of `count` rows scored against `query`, keeping those whose
/// score is not below `threshold` (-INFINITY keeps all; a NaN score is kept): their scores go to
/// out_scores and their row numbers (0 ..< count) to out_rows, in row order. Returns how many (each
/// output holds `count`). The scores are funnel_vec_dot's bit for bit (the AVX-512 and AVX2 kernels
/// add in one order). With AVX2, eight rows at a time share one transposed reduction and one
/// comparison, so a row below the threshold costs no scalar work. O(count x dimension).
size_t funnel_vec_scan_above(const float *query, const float *vectors, size_t dimension, size_t count, float threshold,
                             float *out_scores, uint32_t *out_rows, funnel_vec_kernel kernel);

/// One step of a graph search: of the `count` node ids at `links`, those not yet visited
/// (marks[id] != stamp) are marked and scored against `query`; their ids go to `out_ids` and their
/// inner products to `out_scores`, in list order. Returns how many. The marks, then the rows, are
/// prefetched before they are read. O(count x dimension).
size_t funnel_vec_visit(const uint32_t *links, size_t count, uint16_t *marks, uint16_t stamp, const float *query,
                        const float *vectors, size_t dimension, uint32_t *out_ids, float *out_scores,
                        funnel_vec_kernel kernel);

/// Asks for the cache line at `p` ahead of a read (a graph node's links before the node is expanded).
static inline void funnel_vec_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
