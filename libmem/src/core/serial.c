#include "serial.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"

/* ---- CRC32 (IEEE 802.3, reflected polynomial 0xedb88320), four bits at a time: a 16-entry
 * read-only table instead of the 256-entry one (save and load are not hot paths). */
static const uint32_t crc_nibble[16] = {
    0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
    0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
    0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu};

uint32_t mem_crc32(const void *data, size_t n) {
    const uint8_t *p = data;
    uint32_t crc = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return crc ^ 0xffffffffu;
}

/* ---- writer ---- */
void mem_writer_init(mem_writer *w, void *buf, size_t cap) {
    w->buf = buf;
    w->cap = buf ? cap : 0;
    w->len = 0;
    w->overflow = 0;
    w->section_start = 0;
}

void mem_write_bytes(mem_writer *w, const void *p, size_t n) {
    if (w->buf && !w->overflow) {
        if (n > w->cap - w->len) {
            w->overflow = 1;
        } else if (n) {
            memcpy(w->buf + w->len, p, n);
        }
    }
    w->len += n;
}

static void put_le(uint8_t *b, uint64_t v, int n) {
    for (int i = 0; i < n; i++) b[i] = (uint8_t)(v >> (8 * i));
}

void mem_write_u8(mem_writer *w, uint8_t v) { mem_write_bytes(w, &v, 1); }

void mem_write_u32(mem_writer *w, uint32_t v) {
    uint8_t b[4];
    put_le(b, v, 4);
    mem_write_bytes(w, b, 4);
}

void mem_write_u64(mem_writer *w, uint64_t v) {
    uint8_t b[8];
    put_le(b, v, 8);
    mem_write_bytes(w, b, 8);
}

void mem_write_i64(mem_writer *w, int64_t v) { mem_write_u64(w, (uint64_t)v); }

void mem_write_f64(mem_writer *w, double v) {
    uint64_t u;
    memcpy(&u, &v, 8);
    mem_write_u64(w, u);
}

void mem_write_f32s(mem_writer *w, const float *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &p[i], 4);
        mem_write_u32(w, u);
    }
}

void mem_write_str(mem_writer *w, const char *s) {
    size_t n = s ? strlen(s) : 0;
    mem_write_u32(w, (uint32_t)n);
    mem_write_bytes(w, s, n);
}

void mem_write_section_begin(mem_writer *w, uint32_t tag) {
    mem_write_u32(w, tag);
    mem_write_u64(w, 0); /* patched by section_end */
    w->section_start = w->len;
}

void mem_write_section_end(mem_writer *w) {
    size_t payload = w->len - w->section_start;
    uint32_t crc = 0;
    if (w->buf && !w->overflow) {
        put_le(w->buf + w->section_start - 8, payload, 8);
        crc = mem_crc32(w->buf + w->section_start, payload);
    }
    mem_write_u32(w, crc);
}

/* ---- reader ---- */
void mem_reader_init(mem_reader *r, const void *p, size_t len) {
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->failed = 0;
}

size_t mem_reader_left(const mem_reader *r) { return r->len - r->pos; }

const uint8_t *mem_read_bytes(mem_reader *r, size_t n) {
    if (r->failed || n > r->len - r->pos) {
        r->failed = 1;
        return NULL;
    }
    const uint8_t *q = r->p + r->pos;
    r->pos += n;
    return q;
}

static uint64_t get_le(mem_reader *r, int n) {
    const uint8_t *b = mem_read_bytes(r, (size_t)n);
    uint64_t v = 0;
    if (!b) return 0;
    for (int i = 0; i < n; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}

uint8_t mem_read_u8(mem_reader *r) { return (uint8_t)get_le(r, 1); }
uint32_t mem_read_u32(mem_reader *r) { return (uint32_t)get_le(r, 4); }
uint64_t mem_read_u64(mem_reader *r) { return get_le(r, 8); }
int64_t mem_read_i64(mem_reader *r) { return (int64_t)get_le(r, 8); }

double mem_read_f64(mem_reader *r) {
    uint64_t u = get_le(r, 8);
    double v;
    memcpy(&v, &u, 8);
    return v;
}

int mem_read_f32s(mem_reader *r, float *out, size_t n) {
    if (n > (r->len - r->pos) / 4) {
        r->failed = 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)get_le(r, 4);
        memcpy(&out[i], &u, 4);
    }
    return !r->failed;
}

int mem_read_str(mem_reader *r, char *out, size_t max_len) {
    uint32_t n = mem_read_u32(r);
    if (r->failed || n > max_len) {
        r->failed = 1;
        return 0;
    }
    const uint8_t *b = mem_read_bytes(r, n);
    if (!b) return 0;
    memcpy(out, b, n);
    out[n] = '\0';
    if (memchr(out, '\0', n)) { /* embedded NUL: not a string we wrote */
        r->failed = 1;
        return 0;
    }
    return 1;
}

mem_status mem_read_section(mem_reader *r, uint32_t tag, mem_reader *section) {
    size_t at = r->pos;
    uint32_t got = mem_read_u32(r);
    uint64_t n = mem_read_u64(r);
    if (r->failed) return mem_fail(MEM_ERR_CORRUPT, "model data is truncated at byte %zu (section header)", at);
    if (got != tag)
        return mem_fail(MEM_ERR_CORRUPT, "model data has section tag 0x%08x at byte %zu, expected 0x%08x", got,
                        at, tag);
    if (n > mem_reader_left(r) || mem_reader_left(r) - n < 4)
        return mem_fail(MEM_ERR_CORRUPT,
                        "model data is truncated: section at byte %zu claims %llu bytes, %zu remain", at,
                        (unsigned long long)n, mem_reader_left(r));
    const uint8_t *payload = mem_read_bytes(r, (size_t)n);
    uint32_t crc = mem_read_u32(r);
    if (crc != mem_crc32(payload, (size_t)n))
        return mem_fail(MEM_ERR_CORRUPT, "model data is corrupt: checksum mismatch in section at byte %zu", at);
    mem_reader_init(section, payload, (size_t)n);
    return MEM_OK;
}

/* ---- files ---- */
static mem_status fsync_dir_of(const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir) return MEM_OK; /* cannot name it; the rename itself already happened */
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY);
    if (fd < 0) return MEM_OK; /* some filesystems do not allow opening directories; not fatal */
    fsync(fd);
    close(fd);
    return MEM_OK;
}

mem_status mem_write_file_atomic(const char *path, const void *data, size_t n) {
    size_t plen = strlen(path);
    if (plen == 0) return mem_fail(MEM_ERR_ARG, "save: path is empty");
    if (plen > 4000) return mem_fail(MEM_ERR_ARG, "save: path is %zu characters long (at most 4000)", plen);
    /* The temporary file is created with mode 0666, so the kernel applies the process umask as
     * for any ordinary file (mkstemp's 0600 would need umask(), which is process-wide and not
     * thread-safe). The name varies with the pid, the clock and the attempt; O_EXCL makes a
     * collision a retry, never a shared file. */
    char tmp[4096 + 64];
    int fd = -1;
    for (unsigned attempt = 0; fd < 0 && attempt < 100; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lx%u", path, (long)getpid(),
                 (unsigned long)ts.tv_nsec ^ ((unsigned long)(uintptr_t)&ts >> 4), attempt);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) return mem_fail_io(errno, "save: cannot create a temporary file next to '%s'", path);
    const uint8_t *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t k = write(fd, p, left);
        if (k < 0) {
            if (errno == EINTR) continue;
            int err = errno;
            close(fd);
            unlink(tmp);
            return mem_fail_io(err, "save: cannot write '%s'", tmp);
        }
        p += k;
        left -= (size_t)k;
    }
    if (fsync(fd) != 0) {
        int err = errno;
        close(fd);
        unlink(tmp);
        return mem_fail_io(err, "save: cannot flush '%s'", tmp);
    }
    if (close(fd) != 0) {
        int err = errno;
        unlink(tmp);
        return mem_fail_io(err, "save: cannot close '%s'", tmp);
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return mem_fail_io(err, "save: cannot rename the temporary file to '%s'", path);
    }
    return fsync_dir_of(path);
}

mem_status mem_read_file(const char *path, size_t max_bytes, uint8_t **out, size_t *n) {
    /* Non-blocking open, so a FIFO or device is refused below instead of blocking the caller. */
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return mem_fail_io(errno, "load: cannot open '%s'", path);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return mem_fail_io(err, "load: cannot stat '%s'", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        if (S_ISDIR(st.st_mode)) return mem_fail_io(EISDIR, "load: '%s' is a directory", path);
        return mem_fail_io(EINVAL, "load: '%s' is not a regular file (a device, pipe or socket)", path);
    }
    if ((uint64_t)st.st_size > max_bytes) {
        close(fd);
        return mem_fail(MEM_ERR_CORRUPT, "load: '%s' is %lld bytes, larger than any model file (%zu)", path,
                        (long long)st.st_size, max_bytes);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return mem_fail(MEM_ERR_NOMEM, "load: cannot allocate %zu bytes for '%s'", size, path);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t k = read(fd, buf + got, size - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            int err = k < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return mem_fail_io(err, "load: cannot read '%s'", path);
        }
        got += (size_t)k;
    }
    close(fd);
    *out = buf;
    *n = size;
    return MEM_OK;
}
