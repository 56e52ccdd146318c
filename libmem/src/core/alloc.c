#include "alloc.h"

#include <stdlib.h>
#include <string.h>

int mem_size_mul(size_t count, size_t size, size_t *out) {
    if (size != 0 && count > SIZE_MAX / size) return 0;
    *out = count * size;
    return 1;
}

/* Bytes to allocate (a multiple of MEM_ALIGN, at least one line), or 0 on overflow. */
static size_t aligned_bytes(size_t count, size_t size) {
    size_t bytes;
    if (!mem_size_mul(count, size, &bytes)) return 0;
    if (bytes > SIZE_MAX - MEM_ALIGN) return 0;
    bytes = (bytes + MEM_ALIGN - 1) / MEM_ALIGN * MEM_ALIGN;
    return bytes == 0 ? MEM_ALIGN : bytes;
}

void *mem_alloc_uninit(size_t count, size_t size) {
    size_t bytes = aligned_bytes(count, size);
    return bytes ? aligned_alloc(MEM_ALIGN, bytes) : NULL;
}

void *mem_alloc_zeroed(size_t count, size_t size) {
    size_t bytes = aligned_bytes(count, size);
    void *p = bytes ? aligned_alloc(MEM_ALIGN, bytes) : NULL;
    if (p) memset(p, 0, bytes);
    return p;
}

void mem_free_aligned(void *p) { free(p); }
