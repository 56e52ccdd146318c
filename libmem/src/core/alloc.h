/* Aligned, zero-initialised allocation for numerical buffers (64-byte lines: AVX loads never split). */
#ifndef MEM_CORE_ALLOC_H
#define MEM_CORE_ALLOC_H

#include <stddef.h>
#include <stdint.h>

#define MEM_ALIGN 64

/* NULL on failure or when count * size overflows; count == 0 gives a valid minimal block. */
void *mem_alloc_zeroed(size_t count, size_t size);
/* The same without the zeroing, for large work buffers that are written before being read (the
 * zeroing would touch every page of memory that may never be used). */
void *mem_alloc_uninit(size_t count, size_t size);
void mem_free_aligned(void *p);
/* count * size without overflow; 0 and *out untouched on overflow. */
int mem_size_mul(size_t count, size_t size, size_t *out);

#endif
