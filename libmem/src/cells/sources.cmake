list(APPEND LIBMEM_GENERIC_SOURCES
  libmem/src/cells/registry.c
  libmem/src/cells/amrc.c
  libmem/src/cells/pmrc.c
  libmem/src/cells/amn.c
  libmem/src/cells/ndm.c
  libmem/src/cells/sgw_amn.c
  libmem/src/cells/dtpn.c
  libmem/src/cells/hyper_amn.c)
list(APPEND LIBMEM_SOURCES
  libmem/src/cells/echo_memory.c)
