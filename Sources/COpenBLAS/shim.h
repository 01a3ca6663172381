#ifndef FUNNEL_COPENBLAS_SHIM_H
#define FUNNEL_COPENBLAS_SHIM_H
/// Debian's OpenBLAS (libopenblas-dev, pthread flavour); pkg-config `openblas` adds the include path.
#include <cblas.h>
#endif
