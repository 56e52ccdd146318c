list(APPEND LIBMEM_GENERIC_SOURCES
  libmem/src/memory/manifold.c
  libmem/src/memory/manifold_chunk.c)
