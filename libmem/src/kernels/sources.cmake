list(APPEND LIBMEM_SOURCES
  libmem/src/kernels/gemm.c
  libmem/src/kernels/sgemm_api.c
  libmem/src/kernels/syrk.c)
list(APPEND LIBMEM_AVX2_SOURCES
  libmem/src/kernels/gemm_avx2.c
  libmem/src/kernels/syrk_avx2.c)
