// What the kernels need from the CPU, asked once at run time (the package builds for any x86-64 or
// ARM target; the AVX-512 kernels are compiled with target attributes and chosen by these answers).
#ifndef FUNNEL_CPU_FEATURES_H
#define FUNNEL_CPU_FEATURES_H

/// Whether this CPU has AVX-512 F (the only AVX-512 subset the kernels use). 0 on other architectures.
int funnel_cpu_has_avx512f(void);

/// Whether this CPU has AVX2 (the complete-tree walk's kernel where AVX-512 is missing). 0 on other architectures.
int funnel_cpu_has_avx2(void);

#endif
