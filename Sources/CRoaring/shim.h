#ifndef FUNNEL_CROARING_SHIM_H
#define FUNNEL_CROARING_SHIM_H
#include <roaring/roaring.h>

/// Debian's CRoaring 0.2.66. Frozen views need their buffer 32-byte aligned; index files align
/// every frozen bitmap so that views work straight over the mapped file.
static inline int funnel_roaring_is_aligned(const void *p) { return ((uintptr_t)p & 31) == 0; }
#endif
