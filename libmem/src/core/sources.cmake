list(APPEND LIBMEM_SOURCES
  libmem/src/core/error.c
  libmem/src/core/threads.c
  libmem/src/core/alloc.c
  libmem/src/core/rng.c
  libmem/src/core/serial.c
  libmem/src/core/version.c)
