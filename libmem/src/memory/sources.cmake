list(APPEND LIBMEM_GENERIC_SOURCES
  libmem/src/memory/manifold.c)
