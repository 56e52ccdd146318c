list(APPEND LIBMEM_SOURCES
  libmem/src/model/arch.c
  libmem/src/model/config.c
  libmem/src/model/model.c
  libmem/src/model/freeze.c
  libmem/src/model/data.c
  libmem/src/model/train.c
  libmem/src/model/predict.c
  libmem/src/model/io.c)
list(APPEND LIBMEM_GENERIC_SOURCES
  libmem/src/model/readout.c
  libmem/src/model/window.c)
