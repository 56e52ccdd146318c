# Alignment and similarity: plain float64 / float32 C (not type-generic, so compiled once).
list(APPEND LIBMEM_SOURCES
  libmem/src/align/hungarian.c
  libmem/src/align/lsa_kernels.c
  libmem/src/align/permute.c
  libmem/src/align/similarity.c)
list(APPEND LIBMEM_AVX2_SOURCES
  libmem/src/align/lsa_kernels_avx2.c)
