// See cpu_features.h.
#include "cpu_features.h"

// __builtin_cpu_supports takes a string literal only, hence a macro rather than a function.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define CPU_SUPPORTS(feature) (__builtin_cpu_init(), __builtin_cpu_supports(feature) != 0)
#else
#define CPU_SUPPORTS(feature) 0
#endif

int funnel_cpu_has_avx512f(void) { return CPU_SUPPORTS("avx512f"); }

int funnel_cpu_has_avx2(void) { return CPU_SUPPORTS("avx2"); }
