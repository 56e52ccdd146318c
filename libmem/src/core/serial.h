/* Little-endian binary writing/reading with bounds checks, CRC32, and atomic file I/O. */
#ifndef MEM_CORE_SERIAL_H
#define MEM_CORE_SERIAL_H

#include <stddef.h>
#include <stdint.h>

#include "libmem/libmem.h"

uint32_t mem_crc32(const void *data, size_t n);

/* A writer either counts (buf == NULL) or writes into a caller buffer of `cap` bytes; writing past
 * `cap` sets `overflow` and writes nothing more, so one code path serves save_size and save. */
typedef struct mem_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int overflow;
    size_t section_start; /* offset of the open section's payload */
} mem_writer;

void mem_writer_init(mem_writer *w, void *buf, size_t cap);
void mem_write_bytes(mem_writer *w, const void *p, size_t n);
void mem_write_u8(mem_writer *w, uint8_t v);
void mem_write_u32(mem_writer *w, uint32_t v);
void mem_write_u64(mem_writer *w, uint64_t v);
void mem_write_i64(mem_writer *w, int64_t v);
void mem_write_f64(mem_writer *w, double v);
void mem_write_f32s(mem_writer *w, const float *p, size_t n);
void mem_write_str(mem_writer *w, const char *s); /* u32 length + bytes, no NUL */
/* Section framing: u32 tag, u64 payload length, payload, u32 CRC32 of the payload. */
void mem_write_section_begin(mem_writer *w, uint32_t tag);
void mem_write_section_end(mem_writer *w);

/* A reader over a byte range; any read past the end sets `failed` and returns zeros, so callers
 * check once after a group of reads. */
typedef struct mem_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    int failed;
} mem_reader;

void mem_reader_init(mem_reader *r, const void *p, size_t len);
size_t mem_reader_left(const mem_reader *r);
const uint8_t *mem_read_bytes(mem_reader *r, size_t n); /* NULL on overrun */
uint8_t mem_read_u8(mem_reader *r);
uint32_t mem_read_u32(mem_reader *r);
uint64_t mem_read_u64(mem_reader *r);
int64_t mem_read_i64(mem_reader *r);
double mem_read_f64(mem_reader *r);
int mem_read_f32s(mem_reader *r, float *out, size_t n); /* 0 on overrun */
/* A string of at most max_len bytes, copied NUL-terminated into out (capacity max_len + 1). */
int mem_read_str(mem_reader *r, char *out, size_t max_len);
/* Opens the next section: checks the tag, that the length fits, and the CRC; on success `section`
 * reads the payload and the outer reader is advanced past it. Returns a status with a message. */
mem_status mem_read_section(mem_reader *r, uint32_t tag, mem_reader *section);

/* Writes n bytes to `path` atomically: a temp file in the same directory, fsync, rename over the
 * target, fsync of the directory. On failure the target is untouched and the temp file removed. */
mem_status mem_write_file_atomic(const char *path, const void *data, size_t n);
/* Reads a whole file (at most max_bytes) into a new malloc'd buffer. */
mem_status mem_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *n);

#endif
