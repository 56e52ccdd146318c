list(APPEND LIBMEM_GENERIC_SOURCES
  libmem/src/ode/ode.c)
