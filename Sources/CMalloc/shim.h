#ifndef FUNNEL_CMALLOC_SHIM_H
#define FUNNEL_CMALLOC_SHIM_H
/// glibc's allocator controls (malloc.h, which Swift's Glibc module leaves out): a large build
/// returns freed memory to the system with them.
#include <malloc.h>
#endif
