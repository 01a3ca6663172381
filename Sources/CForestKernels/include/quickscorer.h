// QuickScorer (Lucchese et al., SIGIR 2015) over passes of 32 rows, as in its vectorised form
// (V-QuickScorer / RapidScorer): the exit leaf of every tree for 32 rows at once, by bit masks.
//
// Each tree has at most 64 leaves, numbered left to right; a row starts with every leaf possible
// (all bits set) and every split the row does NOT take to the left (x > T) clears the leaves of
// its left subtree. The exit leaf is then the lowest bit left. Splits are visited feature by
// feature in ascending threshold order, so a row stops at its first threshold >= x: no tree is
// walked, no branch depends on the path. 32 rows share one pass: a split's threshold and mask are
// loaded once and its mask ANDed into the lanes of the rows that fail it (AVX-512 masked ANDs,
// eight rows each, or AVX2 compares of four rows as doubles, which give 64-bit lane masks); more rows
// per pass visit a few more splits (up to the largest value of 32).
//
// Missing values: a split either sends NaN left (it fails when x > T: never for NaN) or right (it
// fails when !(x <= T): always for NaN), so the splits of a feature form two lists by direction.
//
// All functions are re-entrant and allocate nothing; the forest is read-only.
#ifndef FUNNEL_QUICKSCORER_H
#define FUNNEL_QUICKSCORER_H

#include <stddef.h>
#include <stdint.h>

/// One split in a list: its threshold, the tree (within its block) and the mask of leaves that
/// survive when x > threshold. 16 bytes.
typedef struct {
  float threshold;
  uint32_t tree;
  uint64_t mask;
} funnel_qs_node;

/// The splits of one block of trees on one feature with one missing-value direction (nan_right: NaN
/// goes right), nodes [start, end) sorted by threshold.
typedef struct {
  uint32_t start;
  uint32_t end;
  uint32_t column;
  uint32_t nan_right;
} funnel_qs_list;

/// Trees [first_tree, first_tree + tree_count) and their lists [first_list, first_list + list_count).
/// tree_count is at most FUNNEL_QS_MAX_BLOCK_TREES.
typedef struct {
  uint32_t first_tree;
  uint32_t tree_count;
  uint32_t first_list;
  uint32_t list_count;
} funnel_qs_block;

/// A forest in QuickScorer form. `leaves` holds 64 values per tree (leaf i of tree t at 64 t + i).
typedef struct {
  const funnel_qs_node *nodes;
  const funnel_qs_list *lists;
  const funnel_qs_block *blocks;
  uint32_t block_count;
  const double *leaves;
} funnel_qs_forest;

/// Trees per block: their masks for 32 rows (256 bytes a tree) fill half of a 32 KiB L1 cache.
#define FUNNEL_QS_MAX_BLOCK_TREES 64

/// Floats of scratch space `funnel_qs_add_margins` needs for `columns` features.
static inline size_t funnel_qs_scratch_floats(size_t columns) { return 32 * columns + 2 * columns; }

/// The kernel of a pass: the portable loops run anywhere; the others only where cpu_features.h says
/// the CPU has the extension. All give the same sums, bit for bit.
typedef enum { FUNNEL_QS_PORTABLE = 0, FUNNEL_QS_AVX2 = 1, FUNNEL_QS_AVX512 = 2 } funnel_qs_kernel;

/// Adds the exit leaf of every tree, trees in order, to out[r] for each of the `rows` rows of
/// `values` (row-major, `columns` floats a row). `scratch` holds funnel_qs_scratch_floats(columns)
/// floats. O(rows x splits) in the worst case.
void funnel_qs_add_margins(const funnel_qs_forest *forest, const float *values, size_t rows, size_t columns,
                           double *out, float *scratch, funnel_qs_kernel kernel);

#endif
