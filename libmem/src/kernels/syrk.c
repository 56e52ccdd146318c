/* mem_syrk_f32_acc64: dispatch to the AVX2/FMA kernel (syrk_avx2.c) where gemm.c's run-time check
 * chose AVX2, else the portable loops below, which produce the same bits (see syrk.h). */
#include "syrk.h"

#include <math.h>
#include <string.h>

#include "core/threads.h"
#include "gemm.h"
#include "gemm_internal.h"

#if MEM_GEMM_HAVE_AVX2
/* syrk_avx2.c; returns -1 (C untouched) when its tile buffers cannot be allocated. */
int mem_syrk_f32_acc64_avx2(int64_t n, int64_t d, const float *packed, int64_t j0, int64_t j1,
                            double *c, int64_t ldc, int nt);
#endif

void mem_syrk_f32_acc64_ref(int64_t n, int64_t d, const float *packed, int64_t j0, int64_t j1,
                            double *c, int64_t ldc) {
    (void)d;
    for (int64_t i = 0; i < j1; i++)
        for (int64_t j = i > j0 ? i : j0; j < j1; j++) {
            const float *zi = packed + mem_syrk_packed_index(n, 0, i);
            const float *zj = packed + mem_syrk_packed_index(n, 0, j);
            double total = 0.0;
            for (int64_t b0 = 0; b0 < n; b0 += MEM_SYRK_BLOCK) {
                int64_t b1 = b0 + MEM_SYRK_BLOCK < n ? b0 + MEM_SYRK_BLOCK : n;
                float s = 0.0f;
                for (int64_t p = b0; p < b1; p++)
                    s = fmaf(zi[p * MEM_SYRK_GROUP], zj[p * MEM_SYRK_GROUP], s);
                total += (double)s;
            }
            c[i * ldc + (j - j0)] = total;
        }
}

void mem_syrk_f32_acc64(int64_t n, int64_t d, const float *packed, int64_t j0, int64_t j1,
                        double *c, int64_t ldc, int n_threads) {
    if (j1 > d) j1 = d;
    if (j0 < 0 || j0 >= j1) return;
    if (n <= 0) {
        for (int64_t i = 0; i < j1; i++) {
            int64_t from = i > j0 ? i : j0;
            memset(c + i * ldc + (from - j0), 0, (size_t)(j1 - from) * sizeof(double));
        }
        return;
    }
#if MEM_GEMM_HAVE_AVX2
    if (j0 % MEM_SYRK_GROUP == 0 && strcmp(mem_gemm_simd_name(), "avx2") == 0) {
        int nt = mem_threads_for(n_threads, n * j1 * (j1 - j0));
        if (mem_syrk_f32_acc64_avx2(n, d, packed, j0, j1, c, ldc, nt) == 0) return;
    }
#else
    (void)n_threads;
#endif
    mem_syrk_f32_acc64_ref(n, d, packed, j0, j1, c, ldc);
}
