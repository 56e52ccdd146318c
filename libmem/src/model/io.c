/* Saving and loading (DESIGN §5). Layout, little-endian:
 *   magic "\x89MEM\r\n\x1a\n" | u32 format version | u64 total length | u32 CRC32 of the 20 bytes before
 *   then sections (u32 tag, u64 length, payload, u32 CRC32 of the payload), in this order:
 *   KIND  kind name, n_inputs, n_outputs
 *   CONF  every configuration value by name (numbers as f64, choices by name, arrays as a u32
 *         count then f64 values). Arrays came without a format-version change: no file written
 *         before them can hold an array record (the kinds that have arrays are newer), and a
 *         libmem that predates them refuses such a file's unknown kind before reading its CONF.
 *   PARM  every parameter tensor: name, ndim, shape, float32 data
 *   MASK  freeze mask present flag, then one byte per weight
 *   OPTM  optimizer step count, moments present flag, then both moment buffers
 *   STAT  the stored memory (state_dim floats)
 *   CARY  sub-stream count, stream length, carries
 *   CNTR  RNG seed and counter, epochs trained, updates, schedule position
 *   META  the caller's metadata text
 * Loading checks every size against the remaining bytes before allocating, verifies every
 * checksum, and returns a complete model or an error — never a half-loaded one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/serial.h"
#include "model/model.h"

static const uint8_t magic[8] = {0x89, 'M', 'E', 'M', '\r', '\n', 0x1a, '\n'};
#define FORMAT_VERSION 1u
#define HEADER_BYTES 24
#define MAX_FILE_BYTES ((size_t)1 << 40)
#define MAX_META_BYTES ((size_t)1 << 26)

#define TAG(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define TAG_KIND TAG('K', 'I', 'N', 'D')
#define TAG_CONF TAG('C', 'O', 'N', 'F')
#define TAG_PARM TAG('P', 'A', 'R', 'M')
#define TAG_MASK TAG('M', 'A', 'S', 'K')
#define TAG_OPTM TAG('O', 'P', 'T', 'M')
#define TAG_STAT TAG('S', 'T', 'A', 'T')
#define TAG_CARY TAG('C', 'A', 'R', 'Y')
#define TAG_CNTR TAG('C', 'N', 'T', 'R')
#define TAG_META TAG('M', 'E', 'T', 'A')

static void write_model(const mem_model *m, const char *meta, mem_writer *w) {
    const mem_arch *a = &m->arch;
    const int64_t n = a->n_weights;
    mem_write_bytes(w, magic, sizeof magic);
    mem_write_u32(w, FORMAT_VERSION);
    mem_write_u64(w, 0); /* total length, patched below */
    mem_write_u32(w, 0); /* header CRC, patched below */

    mem_write_section_begin(w, TAG_KIND);
    mem_write_str(w, m->kind->name);
    mem_write_i64(w, a->n_inputs);
    mem_write_i64(w, a->n_outputs);
    mem_write_section_end(w);

    mem_write_section_begin(w, TAG_CONF);
    const int64_t n_cfg = mem_kind_param_total(m->kind);
    mem_write_u32(w, (uint32_t)n_cfg);
    for (int64_t i = 0; i < n_cfg; i++) {
        const mem_param_def *d = mem_kind_param(m->kind, i);
        mem_write_str(w, d->name);
        mem_write_u8(w, (uint8_t)d->type);
        if (d->type == MEM_PARAM_CHOICE) {
            const char *choice;
            mem_config_get_str(&m->cfg, d->name, &choice);
            mem_write_str(w, choice);
        } else if (d->type == MEM_PARAM_FLOATS) {
            int64_t count;
            const double *values = mem_config_array(&m->cfg, d->name, &count);
            mem_write_u32(w, (uint32_t)count);
            for (int64_t k = 0; k < count; k++) mem_write_f64(w, values[k]);
        } else {
            mem_write_f64(w, m->cfg.values[i]);
        }
    }
    mem_write_section_end(w);

    mem_write_section_begin(w, TAG_PARM);
    mem_write_u32(w, (uint32_t)a->n_params);
    for (int p = 0; p < a->n_params; p++) {
        const mem_tensor_spec *s = &a->params[p];
        mem_write_str(w, s->name);
        mem_write_u32(w, (uint32_t)s->ndim);
        for (int k = 0; k < s->ndim; k++) mem_write_i64(w, s->shape[k]);
        mem_write_f32s(w, m->net.w + s->offset, (size_t)s->size);
    }
    mem_write_section_end(w);

    mem_write_section_begin(w, TAG_MASK);
    mem_write_u8(w, m->frozen != NULL);
    if (m->frozen) mem_write_bytes(w, m->frozen, (size_t)n);
    mem_write_section_end(w);

    mem_write_section_begin(w, TAG_OPTM);
    mem_write_i64(w, m->opt_step);
    mem_write_u8(w, m->opt_m != NULL);
    if (m->opt_m) {
        mem_write_f32s(w, m->opt_m, (size_t)n);
        mem_write_f32s(w, m->opt_v, (size_t)n);
    }
    mem_write_section_end(w);

    mem_write_section_begin(w, TAG_STAT);
    mem_write_f32s(w, m->memory, (size_t)a->state_dim);
    mem_write_section_end(w);

    mem_write_section_begin(w, TAG_CARY);
    mem_write_i64(w, m->carry ? m->carry_n_sub : 0);
    mem_write_i64(w, m->carry ? m->carry_n_steps : 0);
    if (m->carry) mem_write_f32s(w, m->carry, (size_t)(m->carry_n_sub * a->state_dim));
    mem_write_section_end(w);

    mem_write_section_begin(w, TAG_CNTR);
    mem_write_u64(w, m->rng.seed);
    mem_write_u64(w, m->rng.counter);
    mem_write_i64(w, m->epochs_trained);
    mem_write_i64(w, m->updates);
    mem_write_i64(w, m->fit_epoch);
    mem_write_section_end(w);

    mem_write_section_begin(w, TAG_META);
    mem_write_str(w, meta);
    mem_write_section_end(w);

    if (w->buf && !w->overflow) {
        const uint64_t total = w->len;
        for (int i = 0; i < 8; i++) w->buf[12 + i] = (uint8_t)(total >> (8 * i));
        const uint32_t crc = mem_crc32(w->buf, 20);
        for (int i = 0; i < 4; i++) w->buf[20 + i] = (uint8_t)(crc >> (8 * i));
    }
}

static mem_status check_meta(const char *meta, const char *fn) {
    if (meta && strlen(meta) > MAX_META_BYTES)
        return mem_fail(MEM_ERR_ARG, "%s: metadata is %zu bytes (at most %zu)", fn, strlen(meta), MAX_META_BYTES);
    return MEM_OK;
}

/* A model with a non-finite weight, memory or carry could be written but never loaded (load
 * rejects it), so saving refuses it, naming the tensor and the entry. */
static mem_status check_saveable(const mem_model *m, const char *fn) {
    const mem_arch *a = &m->arch;
    for (int p = 0; p < a->n_params; p++) {
        const float *w = m->net.w + a->params[p].offset;
        for (int64_t i = 0; i < a->params[p].size; i++)
            if (!isfinite(w[i]))
                return mem_fail(MEM_ERR_NUMERIC, "%s: parameter '%s' holds %g at entry %lld; a model with non-finite "
                                                 "weights cannot be saved",
                                fn, a->params[p].name, (double)w[i], (long long)i);
    }
    const int64_t n_state = a->state_dim, n_carry = m->carry ? m->carry_n_sub * a->state_dim : 0;
    for (int64_t i = 0; i < n_state; i++)
        if (!isfinite(m->memory[i]))
            return mem_fail(MEM_ERR_NUMERIC, "%s: the memory state holds %g at entry %lld; reset it first", fn,
                            (double)m->memory[i], (long long)i);
    for (int64_t i = 0; i < n_carry; i++)
        if (!isfinite(m->carry[i]))
            return mem_fail(MEM_ERR_NUMERIC, "%s: a sub-stream carry holds %g at entry %lld", fn, (double)m->carry[i],
                            (long long)i);
    return MEM_OK;
}

static const char *effective_meta(const mem_model *m, const char *meta) {
    return meta ? meta : (m->metadata ? m->metadata : "");
}

mem_status mem_model_save_size(const mem_model *m, const char *meta, int64_t *n_bytes) {
    MEM_REQUIRE_ARG(m, "mem_model_save_size");
    MEM_REQUIRE_ARG(n_bytes, "mem_model_save_size");
    MEM_CHECK(check_meta(meta, "mem_model_save_size"));
    MEM_CHECK(check_saveable(m, "save"));
    mem_writer w;
    mem_writer_init(&w, NULL, 0);
    write_model(m, effective_meta(m, meta), &w);
    *n_bytes = (int64_t)w.len;
    return MEM_OK;
}

mem_status mem_model_save_buffer(const mem_model *m, const char *meta, void *buf, int64_t capacity) {
    MEM_REQUIRE_ARG(m, "mem_model_save_buffer");
    MEM_REQUIRE_ARG(buf, "mem_model_save_buffer");
    MEM_CHECK(check_meta(meta, "mem_model_save_buffer"));
    int64_t need;
    MEM_CHECK(mem_model_save_size(m, meta, &need));
    if (capacity < need)
        return mem_fail(MEM_ERR_SHAPE, "mem_model_save_buffer: capacity=%lld bytes, the model needs %lld",
                        (long long)capacity, (long long)need);
    mem_writer w;
    mem_writer_init(&w, buf, (size_t)capacity);
    write_model(m, effective_meta(m, meta), &w);
    return MEM_OK;
}

mem_status mem_model_save(const mem_model *m, const char *path, const char *meta) {
    MEM_REQUIRE_ARG(m, "mem_model_save");
    MEM_REQUIRE_ARG(path, "mem_model_save");
    int64_t n;
    MEM_CHECK(mem_model_save_size(m, meta, &n));
    uint8_t *buf = malloc((size_t)n);
    if (!buf) return mem_fail(MEM_ERR_NOMEM, "mem_model_save: cannot allocate %lld bytes", (long long)n);
    mem_status s = mem_model_save_buffer(m, meta, buf, n);
    if (s == MEM_OK) s = mem_write_file_atomic(path, buf, (size_t)n);
    free(buf);
    return s;
}

/* ---- loading ---- */

#define CORRUPT(...) mem_fail(MEM_ERR_CORRUPT, __VA_ARGS__)

/* MEM_ERR_CORRUPT with the reason an inner call just gave (copied first: the message buffer is
 * the one being rewritten). */
static mem_status corrupt_because(const char *what) {
    char reason[512];
    snprintf(reason, sizeof reason, "%s", mem_last_error());
    return CORRUPT("%s (%s)", what, reason);
}

/* Weights and memory from a file must be finite: a model that cannot predict is not a model. */
static mem_status check_finite(const float *v, int64_t n, const char *what) {
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i])) return CORRUPT("model data: %s holds a non-finite value at entry %lld", what, (long long)i);
    return MEM_OK;
}

static mem_status read_config(mem_reader *sec, mem_config *cfg) {
    uint32_t n = mem_read_u32(sec);
    if (sec->failed) return CORRUPT("model data: configuration section is truncated");
    char name[64], choice[64];
    for (uint32_t i = 0; i < n; i++) {
        if (!mem_read_str(sec, name, sizeof name - 1)) return CORRUPT("model data: configuration entry %u is corrupt", i);
        uint8_t type = mem_read_u8(sec);
        const int index = mem_config_index(cfg->kind, name);
        if (index >= 0 && (type == MEM_PARAM_FLOATS) != (mem_kind_param(cfg->kind, index)->type == MEM_PARAM_FLOATS))
            return CORRUPT("model data: configuration entry '%s' has the wrong type", name);
        mem_status s;
        if (type == MEM_PARAM_CHOICE) {
            if (!mem_read_str(sec, choice, sizeof choice - 1))
                return CORRUPT("model data: configuration value of '%s' is corrupt", name);
            s = mem_config_set_str(cfg, name, choice);
        } else if (type == MEM_PARAM_FLOATS) {
            double values[MEM_MAX_ARRAY_LEN];
            uint32_t count = mem_read_u32(sec);
            if (sec->failed || count > MEM_MAX_ARRAY_LEN)
                return CORRUPT("model data: configuration array '%s' is corrupt", name);
            for (uint32_t k = 0; k < count; k++) values[k] = mem_read_f64(sec);
            if (sec->failed) return CORRUPT("model data: configuration array '%s' is truncated", name);
            s = mem_config_set_floats(cfg, name, values, count);
        } else {
            double v = mem_read_f64(sec);
            if (sec->failed) return CORRUPT("model data: configuration value of '%s' is truncated", name);
            s = mem_config_set_value(cfg, name, v, "load");
        }
        if (s != MEM_OK) return corrupt_because("model data: configuration is invalid");
    }
    return MEM_OK;
}

static mem_status read_floats(mem_reader *sec, float *dst, int64_t n, const char *what) {
    if (!mem_read_f32s(sec, dst, (size_t)n)) return CORRUPT("model data: %s is truncated", what);
    return MEM_OK;
}

/* Fills a freshly allocated model from the sections after KIND/CONF. */
static mem_status read_body(mem_reader *r, mem_model *m, const uint8_t **meta, size_t *meta_len) {
    const mem_arch *a = &m->arch;
    const int64_t n = a->n_weights;
    mem_reader sec;
    char name[MEM_NAME_LEN + 1];

    MEM_CHECK(mem_read_section(r, TAG_PARM, &sec));
    if (mem_read_u32(&sec) != (uint32_t)a->n_params || sec.failed)
        return CORRUPT("model data: parameter count differs from the %s architecture", m->kind->name);
    for (int p = 0; p < a->n_params; p++) {
        const mem_tensor_spec *s = &a->params[p];
        if (!mem_read_str(&sec, name, MEM_NAME_LEN) || strcmp(name, s->name) != 0)
            return CORRUPT("model data: parameter %d is not '%s'", p, s->name);
        if (mem_read_u32(&sec) != (uint32_t)s->ndim) return CORRUPT("model data: '%s' has the wrong rank", s->name);
        for (int k = 0; k < s->ndim; k++)
            if (mem_read_i64(&sec) != s->shape[k]) return CORRUPT("model data: '%s' has the wrong shape", s->name);
        MEM_CHECK(read_floats(&sec, m->net.w + s->offset, s->size, s->name));
        MEM_CHECK(check_finite(m->net.w + s->offset, s->size, s->name));
    }

    MEM_CHECK(mem_read_section(r, TAG_MASK, &sec));
    if (mem_read_u8(&sec)) {
        const uint8_t *mask = mem_read_bytes(&sec, (size_t)n);
        if (!mask) return CORRUPT("model data: freeze mask is truncated");
        m->frozen = malloc((size_t)n);
        if (!m->frozen) return mem_fail(MEM_ERR_NOMEM, "load: out of memory");
        for (int64_t i = 0; i < n; i++) m->frozen[i] = mask[i] != 0;
    }

    MEM_CHECK(mem_read_section(r, TAG_OPTM, &sec));
    m->opt_step = mem_read_i64(&sec);
    if (mem_read_u8(&sec)) {
        if (mem_reader_left(&sec) < (size_t)n * 8) return CORRUPT("model data: optimizer state is truncated");
        MEM_CHECK(mem_model_ensure_optimizer(m));
        MEM_CHECK(read_floats(&sec, m->opt_m, n, "optimizer state"));
        MEM_CHECK(read_floats(&sec, m->opt_v, n, "optimizer state"));
    }
    if (sec.failed || m->opt_step < 0) return CORRUPT("model data: optimizer section is corrupt");

    MEM_CHECK(mem_read_section(r, TAG_STAT, &sec));
    MEM_CHECK(read_floats(&sec, m->memory, a->state_dim, "memory state"));
    MEM_CHECK(check_finite(m->memory, a->state_dim, "the memory state"));

    MEM_CHECK(mem_read_section(r, TAG_CARY, &sec));
    int64_t n_sub = mem_read_i64(&sec), n_steps = mem_read_i64(&sec);
    if (sec.failed || n_sub < 0 || n_steps < 0 || n_sub > n_steps)
        return CORRUPT("model data: sub-stream carries are corrupt");
    if (n_sub > 0) {
        if ((uint64_t)n_sub > mem_reader_left(&sec) / 4 / (uint64_t)a->state_dim)
            return CORRUPT("model data: sub-stream carries are truncated");
        MEM_CHECK(mem_model_ensure_carry(m, n_sub, n_steps));
        MEM_CHECK(read_floats(&sec, m->carry, n_sub * a->state_dim, "sub-stream carries"));
        MEM_CHECK(check_finite(m->carry, n_sub * a->state_dim, "a sub-stream carry"));
    }

    MEM_CHECK(mem_read_section(r, TAG_CNTR, &sec));
    m->rng.seed = mem_read_u64(&sec);
    m->rng.counter = mem_read_u64(&sec);
    m->epochs_trained = mem_read_i64(&sec);
    m->updates = mem_read_i64(&sec);
    m->fit_epoch = mem_read_i64(&sec);
    if (sec.failed || m->epochs_trained < 0 || m->updates < 0 || m->fit_epoch < 0)
        return CORRUPT("model data: counters are corrupt");

    MEM_CHECK(mem_read_section(r, TAG_META, &sec));
    uint32_t len = mem_read_u32(&sec);
    *meta = mem_read_bytes(&sec, len);
    *meta_len = len;
    if (!*meta || memchr(*meta, '\0', len)) return CORRUPT("model data: metadata is corrupt");
    if (mem_reader_left(r) != 0) return CORRUPT("model data has %zu unexpected trailing bytes", mem_reader_left(r));
    return MEM_OK;
}

static mem_status load_from(const uint8_t *buf, size_t n_bytes, mem_model **out) {
    if (n_bytes < HEADER_BYTES || memcmp(buf, magic, sizeof magic) != 0)
        return CORRUPT("not a memnative model: %s", n_bytes < HEADER_BYTES ? "too short for the header" : "bad magic bytes");
    mem_reader r;
    mem_reader_init(&r, buf, n_bytes);
    mem_read_bytes(&r, sizeof magic);
    uint32_t version = mem_read_u32(&r);
    uint64_t total = mem_read_u64(&r);
    uint32_t header_crc = mem_read_u32(&r);
    if (header_crc != mem_crc32(buf, 20)) return CORRUPT("model data is corrupt: header checksum mismatch");
    if (version == 0 || version > FORMAT_VERSION)
        return CORRUPT("model format version %u is not supported by this libmem (reads versions 1..%u)", version,
                       FORMAT_VERSION);
    if (total != n_bytes)
        return CORRUPT("model data is %s: the header says %llu bytes, there are %zu", total > n_bytes ? "truncated" : "oversized",
                       (unsigned long long)total, n_bytes);

    mem_reader sec;
    char kind_name[64];
    MEM_CHECK(mem_read_section(&r, TAG_KIND, &sec));
    if (!mem_read_str(&sec, kind_name, sizeof kind_name - 1)) return CORRUPT("model data: kind is corrupt");
    int64_t n_inputs = mem_read_i64(&sec), n_outputs = mem_read_i64(&sec);
    if (sec.failed) return CORRUPT("model data: kind section is truncated");
    const mem_kind *kind = mem_kind_find(kind_name);
    if (!kind) return CORRUPT("model data: unknown kind '%s' (written by a newer libmem?)", kind_name);

    mem_config cfg;
    mem_config_defaults(&cfg, kind);
    MEM_CHECK(mem_read_section(&r, TAG_CONF, &sec));
    MEM_CHECK(read_config(&sec, &cfg));
    mem_arch arch;
    if (mem_model_layout(&cfg, n_inputs, n_outputs, &arch) != MEM_OK)
        return corrupt_because("model data: invalid architecture");
    /* The parameters alone take 4 bytes per weight: refuse before allocating if they cannot fit. */
    if ((uint64_t)arch.n_weights > mem_reader_left(&r) / 4)
        return CORRUPT("model data is truncated: %lld parameters cannot fit in %zu bytes", (long long)arch.n_weights,
                       mem_reader_left(&r));
    mem_model *m;
    MEM_CHECK(mem_model_alloc(&cfg, &arch, &m));
    const uint8_t *meta = NULL;
    size_t meta_len = 0;
    mem_status s = read_body(&r, m, &meta, &meta_len);
    if (s == MEM_OK && meta_len > 0) {
        m->metadata = malloc(meta_len + 1);
        if (!m->metadata) s = mem_fail(MEM_ERR_NOMEM, "load: out of memory");
        else {
            memcpy(m->metadata, meta, meta_len);
            m->metadata[meta_len] = '\0';
        }
    }
    if (s != MEM_OK) {
        mem_model_free(m);
        return s;
    }
    *out = m;
    return MEM_OK;
}

mem_status mem_model_load_buffer(const void *buf, int64_t n_bytes, mem_model **out) {
    MEM_REQUIRE_ARG(out, "mem_model_load_buffer");
    MEM_REQUIRE_ARG(buf, "mem_model_load_buffer");
    if (n_bytes < 0) return mem_fail(MEM_ERR_ARG, "mem_model_load_buffer: n_bytes=%lld is negative", (long long)n_bytes);
    mem_model *m = NULL;
    MEM_CHECK(load_from(buf, (size_t)n_bytes, &m));
    *out = m;
    return MEM_OK;
}

mem_status mem_model_load(const char *path, mem_model **out) {
    MEM_REQUIRE_ARG(out, "mem_model_load");
    MEM_REQUIRE_ARG(path, "mem_model_load");
    uint8_t *buf;
    size_t n;
    MEM_CHECK(mem_read_file(path, MAX_FILE_BYTES, &buf, &n));
    mem_model *m = NULL;
    mem_status s = load_from(buf, n, &m);
    free(buf);
    if (s == MEM_OK) *out = m;
    return s;
}

mem_status mem_model_set_metadata(mem_model *m, const char *meta) {
    MEM_REQUIRE_ARG(m, "mem_model_set_metadata");
    MEM_REQUIRE_ARG(meta, "mem_model_set_metadata");
    MEM_CHECK(check_meta(meta, "mem_model_set_metadata"));
    char *copy = malloc(strlen(meta) + 1);
    if (!copy) return mem_fail(MEM_ERR_NOMEM, "mem_model_set_metadata: out of memory");
    strcpy(copy, meta);
    free(m->metadata);
    m->metadata = copy;
    return MEM_OK;
}

mem_status mem_model_metadata(const mem_model *m, char *buf, int64_t capacity, int64_t *length) {
    MEM_REQUIRE_ARG(m, "mem_model_metadata");
    MEM_REQUIRE_ARG(length, "mem_model_metadata");
    const char *meta = m->metadata ? m->metadata : "";
    *length = (int64_t)strlen(meta);
    if (!buf) return MEM_OK; /* a size query */
    if (capacity > *length) memcpy(buf, meta, (size_t)*length + 1);
    else
        return mem_fail(MEM_ERR_SHAPE, "mem_model_metadata: capacity=%lld, the metadata needs %lld bytes",
                        (long long)capacity, (long long)(*length + 1));
    return MEM_OK;
}
