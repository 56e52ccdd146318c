#include "alloc.h"

#include <stdlib.h>
#include <string.h>

int mem_size_mul(size_t count, size_t size, size_t *out) {
    if (size != 0 && count > SIZE_MAX / size) return 0;
    *out = count * size;
    return 1;
}

void *mem_alloc_zeroed(size_t count, size_t size) {
    size_t bytes;
    if (!mem_size_mul(count, size, &bytes)) return NULL;
    if (bytes > SIZE_MAX - MEM_ALIGN) return NULL;
    bytes = (bytes + MEM_ALIGN - 1) / MEM_ALIGN * MEM_ALIGN;
    if (bytes == 0) bytes = MEM_ALIGN;
    void *p = aligned_alloc(MEM_ALIGN, bytes);
    if (p) memset(p, 0, bytes);
    return p;
}

void mem_free_aligned(void *p) { free(p); }
