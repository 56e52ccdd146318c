list(APPEND LIBMEM_GENERIC_SOURCES
  libmem/src/cells/registry.c
  libmem/src/cells/amrc.c)
