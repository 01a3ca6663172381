// Complete binary trees in heap order (children of node h at 2h + 1 and 2h + 2), walked 16 rows per
// AVX-512 vector. A tree's first three levels (seven nodes) are compared whole: each node against
// its slot's 16 values (one contiguous load: rows are stored slot-major), each lane keeping the
// results on its own path, so those levels need no gather. Below them a lane's node is picked by a
// permute of the level's thresholds and feature slots (levels 3-5 hold at most 32 nodes: one or two
// registers) or a gather (deeper levels), the lane's value by a gather from its row, and the step
// is h = 2h + 2 - (x <= T). A block of 32 rows (two vectors) goes through two trees of one depth at
// a time, so four chains of gathers overlap. Margins accumulate in registers in tree order: sums
// are bit-identical to a scalar walk tree by tree.
//
// Rows come as value pairs (see Ranking's CompleteForest): slot 2c is feature c with NaN -> -inf,
// slot 2c + 1 the same with NaN -> +inf; a node's slot picks the copy that sends NaN its way, so no
// lane ever compares a NaN.
//
// All functions are re-entrant and allocate nothing; the forest is read-only.
#ifndef FUNNEL_COMPLETE_FOREST_H
#define FUNNEL_COMPLETE_FOREST_H

#include <stddef.h>
#include <stdint.h>

/// A forest of complete trees in structure-of-arrays form. Tree t: nodes at
/// [node_offsets[t], node_offsets[t] + 2^depths[t] - 1) of `thresholds` and `slots` (heap order),
/// leaves at [leaf_offsets[t], leaf_offsets[t] + 2^depths[t]) of `leaves`. Depths are 1...16.
typedef struct {
  const float *thresholds;
  const uint32_t *slots;
  const double *leaves;
  /// The leaves again as floats, or NULL when one is not a float (then `leaves` is read). Trees of
  /// at most 64 leaves take them from registers (see complete_forest.c).
  const float *float_leaves;
  const int32_t *node_offsets;
  const int32_t *leaf_offsets;
  const int32_t *depths;
  size_t tree_count;
} funnel_cf_forest;

/// Adds every tree's leaf to out[r] for the `count` rows (at most 32) of one block of `pairs`, stored
/// slot-major: slot k of row r at pairs[k x 32 + r]. Trees in order. Requires funnel_cpu_has_avx512f() (cpu_features.h).
void funnel_cf_add_avx512(const funnel_cf_forest *forest, const float *pairs, size_t count, double *out);

/// The same sums with AVX2 (see complete_forest_avx2.c): each tree's top four levels for eight rows
/// at once by comparing every node of those levels and blending, the levels below row by row;
/// bit-identical sums. Lanes past `count` in the last vector of eight are read and ignored, so the
/// block holds 32 rows' slots. Requires funnel_cpu_has_avx2() (cpu_features.h).
void funnel_cf_add_avx2(const funnel_cf_forest *forest, const float *pairs, size_t count, double *out);

#endif
