// CRC-32C (Castagnoli) with the CPU's own instruction (x86 SSE 4.2 `crc32`), for IndexFormat's
// CRC32C: every index file footer and build input is checksummed, at build and at open, and the
// instruction is several times as fast as table lookups. Chosen at run time; elsewhere the Swift
// table loop is used.
//
// Re-entrant; allocates nothing.
#ifndef FUNNEL_CHECKSUM_H
#define FUNNEL_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/// Whether this CPU has the CRC-32C instruction (x86-64 with SSE 4.2).
int funnel_crc32c_supported(void);

/// `crc` (reflected, without the initial and final inversion) updated with the `count` bytes at
/// `bytes`. Call only where funnel_crc32c_supported says the CPU can. O(count).
uint32_t funnel_crc32c_update(uint32_t crc, const void *bytes, size_t count);

#endif
