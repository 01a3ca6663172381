// What the AVX-512 complete-tree kernel's choices rest on (Sources/CForestKernels/complete_forest.c):
// the throughput cost of a 16-lane gather from L1 against a contiguous load and compare, and of the
// register permutes that replace gathers. Each loop keeps eight independent operations in flight,
// so it measures throughput, not latency. Needs a CPU with AVX-512 F.
//
//   gcc -O2 -o /tmp/gather_cost Benchmarks/ranking/gather_cost.c && /tmp/gather_cost
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static float buffer[4096];
enum { ROUNDS = 20000000, WIDTH = 8 };

__attribute__((target("avx512f"))) static void run(void) {
  for (int i = 0; i < 4096; i++) buffer[i] = (float)i;
  // Sixteen lanes spread over the rows of a 32-row block's slots, as the kernel reads them.
  __m512i index = _mm512_setr_epi32(0, 33, 65, 97, 130, 161, 190, 220, 260, 300, 333, 370, 400, 420, 460, 500);
  __m512 sums[WIDTH];
  __m512d wide[WIDTH];
  __mmask16 masks[WIDTH];
  for (int k = 0; k < WIDTH; k++) { sums[k] = _mm512_setzero_ps(); wide[k] = _mm512_setzero_pd(); masks[k] = 0; }

  double start = now();
  for (long i = 0; i < ROUNDS; i++)
    for (int k = 0; k < WIDTH; k++) sums[k] = _mm512_add_ps(sums[k], _mm512_i32gather_ps(index, buffer, 4));
  double gather16 = (now() - start) / ((double)ROUNDS * WIDTH);

  __m256i low = _mm512_castsi512_si256(index);
  start = now();
  for (long i = 0; i < ROUNDS; i++)
    for (int k = 0; k < WIDTH; k++) wide[k] = _mm512_add_pd(wide[k], _mm512_i32gather_pd(low, (const double *)buffer, 8));
  double gather8d = (now() - start) / ((double)ROUNDS * WIDTH);

  __m512 threshold = _mm512_set1_ps(100);
  start = now();
  for (long i = 0; i < ROUNDS; i++)
    for (int k = 0; k < WIDTH; k++)
      masks[k] ^= _mm512_cmp_ps_mask(_mm512_loadu_ps(buffer + 16 * k + (i & 7)), threshold, _CMP_LE_OQ);
  double compare = (now() - start) / ((double)ROUNDS * WIDTH);

  __m512 table0 = _mm512_loadu_ps(buffer), table1 = _mm512_loadu_ps(buffer + 16);
  __m512i lanes = index;
  start = now();
  for (long i = 0; i < ROUNDS; i++) {
    for (int k = 0; k < WIDTH; k++) sums[k] = _mm512_add_ps(sums[k], _mm512_permutex2var_ps(table0, lanes, table1));
    lanes = _mm512_add_epi32(lanes, _mm512_set1_epi32(1));
  }
  double permute = (now() - start) / ((double)ROUNDS * WIDTH);

  float sink = 0;
  int bits = 0;
  for (int k = 0; k < WIDTH; k++) { sink += _mm512_reduce_add_ps(sums[k]) + (float)_mm512_reduce_add_pd(wide[k]); bits ^= masks[k]; }
  printf("16-lane float gather %.2f ns, 8-lane double gather %.2f ns, 16-lane load + compare %.2f ns, "
         "two-register permute %.2f ns (checksum %g %d)\n", gather16 * 1e9, gather8d * 1e9, compare * 1e9, permute * 1e9,
         (double)sink, bits);
}

int main(void) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f")) {
    puts("gather_cost: this CPU has no AVX-512 F; nothing to measure");
    return 0;
  }
  run();
  return 0;
}
