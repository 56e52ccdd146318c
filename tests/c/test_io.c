/* Saving and loading (DESIGN §5): save -> load -> save is byte-identical (file and buffer);
 * truncated, bit-flipped, oversized-header and foreign data are rejected with MEM_ERR_CORRUPT and
 * the output left untouched; saves are atomic; a golden file of format version 1 still loads. */
#include <unistd.h>

#include "model/model.h"
#include "test_util.h"
#include "testing.h"

static uint8_t *save_to_buffer(const mem_model *m, const char *meta, int64_t *n) {
    CHECK_OK(mem_model_save_size(m, meta, n));
    uint8_t *buf = malloc((size_t)*n);
    CHECK_OK(mem_model_save_buffer(m, meta, buf, *n));
    return buf;
}

static mem_model *trained_model(void) {
    enum { N = 200, I = 3, O = 2 };
    float x[N * I], y[N * O];
    test_rng r = {5};
    test_fill(&r, x, N * I, -1, 1);
    test_fill(&r, y, N * O, -1, 1);
    const char *settings[] = {"hidden_size=6", "output_memory=1", "skip=1", "optimizer=adamw", NULL};
    mem_model *m = test_model("amrc", I, O, settings);
    uint8_t mask[18] = {1, 0, 1};
    CHECK_OK(mem_model_freeze(m, "W", mask, 18));
    mem_data d = test_stream(x, y, N);
    CHECK_OK(mem_model_train_epoch(m, &d, MEM_TRAIN_RESTART_SCHEDULE, NULL, NULL, NULL));
    return m;
}

static void test_round_trip(const char *dir) {
    mem_model *m = trained_model();
    int64_t n1, n2;
    uint8_t *b1 = save_to_buffer(m, "{\"estimator\": \"AMRC\"}", &n1);
    mem_model *l = NULL;
    CHECK_OK(mem_model_load_buffer(b1, n1, &l));
    uint8_t *b2 = save_to_buffer(l, NULL, &n2); /* NULL keeps the loaded metadata */
    CHECK_MSG(n1 == n2 && memcmp(b1, b2, (size_t)n1) == 0, "buffer save -> load -> save is not byte-identical");
    char meta[64];
    int64_t len;
    CHECK_OK(mem_model_metadata(l, meta, sizeof meta, &len));
    CHECK(strcmp(meta, "{\"estimator\": \"AMRC\"}") == 0 && len == 21);

    char path[512], path2[512];
    snprintf(path, sizeof path, "%s/model.mem", dir);
    snprintf(path2, sizeof path2, "%s/model2.mem", dir);
    CHECK_OK(mem_model_save(m, path, "{\"estimator\": \"AMRC\"}"));
    mem_model *f = NULL;
    CHECK_OK(mem_model_load(path, &f));
    CHECK_OK(mem_model_save(f, path2, NULL));
    uint8_t *fb1, *fb2;
    size_t fn1, fn2;
    FILE *fp = fopen(path, "rb");
    fb1 = malloc((size_t)n1 + 16);
    fn1 = fread(fb1, 1, (size_t)n1 + 16, fp);
    fclose(fp);
    fp = fopen(path2, "rb");
    fb2 = malloc((size_t)n1 + 16);
    fn2 = fread(fb2, 1, (size_t)n1 + 16, fp);
    fclose(fp);
    CHECK(fn1 == (size_t)n1 && fn2 == fn1 && memcmp(fb1, b1, fn1) == 0 && memcmp(fb2, fb1, fn1) == 0);
    /* no temporary files are left behind */
    char tmp_glob[600];
    snprintf(tmp_glob, sizeof tmp_glob, "ls %s | grep -c tmp > /dev/null", dir);
    CHECK(system(tmp_glob) != 0);
    /* saving into a missing directory fails with IO and leaves nothing */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/missing/dir/model.mem", dir);
    CHECK_STATUS(mem_model_save(m, bad, NULL), MEM_ERR_IO);
    CHECK(mem_errno() != 0);
    CHECK_STATUS(mem_model_load(bad, &f), MEM_ERR_IO);
    free(b1);
    free(b2);
    free(fb1);
    free(fb2);
    mem_model_free(m);
    mem_model_free(l);
    mem_model_free(f);
}

static void expect_corrupt(const uint8_t *buf, int64_t n, const char *what) {
    mem_model *sentinel = (mem_model *)(uintptr_t)0x1234;
    mem_model *out = sentinel;
    mem_status s = mem_model_load_buffer(buf, n, &out);
    CHECK_MSG(s == MEM_ERR_CORRUPT && out == sentinel && mem_last_error()[0],
              "%s: got %s, out %s, message '%s'", what, mem_status_name(s), out == sentinel ? "untouched" : "changed",
              mem_last_error());
    if (out != sentinel) mem_model_free(out);
}

static void test_corrupt(void) {
    mem_model *m = trained_model();
    int64_t n;
    uint8_t *good = save_to_buffer(m, "{}", &n);
    uint8_t *bad = malloc((size_t)n + 64);
    /* every truncation length (a sample of them for speed) */
    for (int64_t k = 0; k < n; k += (k < 64 ? 1 : 37)) expect_corrupt(good, k, "truncated");
    /* every single-bit flip in the header and a sample of the rest */
    for (int64_t byte = 0; byte < n; byte += (byte < 64 ? 1 : 13)) {
        memcpy(bad, good, (size_t)n);
        bad[byte] ^= (uint8_t)(1u << (byte % 8));
        char what[64];
        snprintf(what, sizeof what, "bit flip at byte %lld", (long long)byte);
        expect_corrupt(bad, n, what);
    }
    /* an oversized header length (CRC fixed up so the length check itself is exercised) */
    memcpy(bad, good, (size_t)n);
    uint64_t huge = UINT64_C(1) << 60;
    for (int i = 0; i < 8; i++) bad[12 + i] = (uint8_t)(huge >> (8 * i));
    extern uint32_t mem_crc32(const void *, size_t);
    uint32_t crc = mem_crc32(bad, 20);
    for (int i = 0; i < 4; i++) bad[20 + i] = (uint8_t)(crc >> (8 * i));
    expect_corrupt(bad, n, "oversized header length");
    /* trailing garbage */
    memcpy(bad, good, (size_t)n);
    memset(bad + n, 0, 64);
    expect_corrupt(bad, n + 64, "trailing bytes");
    /* foreign data */
    const char *text = "PK\x03\x04 this is a zip file, not a model, and it is long enough for a header";
    expect_corrupt((const uint8_t *)text, (int64_t)strlen(text), "foreign");
    free(good);
    free(bad);
    mem_model_free(m);
}

/* A loaded golden file re-saves to exactly the bytes of the file. */
static void check_resaves_identically(const mem_model *g, const char *path, const char *what) {
    int64_t n;
    uint8_t *buf = save_to_buffer(g, NULL, &n);
    FILE *fp = fopen(path, "rb");
    uint8_t *file = malloc((size_t)n + 1);
    size_t got = fp && file ? fread(file, 1, (size_t)n + 1, fp) : 0;
    if (fp) fclose(fp);
    CHECK_MSG(got == (size_t)n && memcmp(file, buf, (size_t)n) == 0, "%s golden file does not re-save identically",
              what);
    free(buf);
    free(file);
}

static void test_golden(void) {
    const char *dir = getenv("MEMNATIVE_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/amrc_v1.mem", dir ? dir : "tests/c/data");
    if (getenv("MEMNATIVE_WRITE_GOLDEN")) {
        mem_model *m = trained_model();
        CHECK_OK(mem_model_save(m, path, "{\"golden\": 1}"));
        mem_model_free(m);
    }
    mem_model *g = NULL;
    CHECK_OK(mem_model_load(path, &g));
    if (!g) return;
    CHECK(strcmp(mem_model_kind(g), "amrc") == 0 && mem_model_n_inputs(g) == 3 && mem_model_n_outputs(g) == 2);
    /* a version-1 file re-saves to the same bytes */
    check_resaves_identically(g, path, "amrc");
    /* and it still predicts */
    float x[4 * 3] = {0.1f, -0.2f, 0.3f, 0.5f, 0.5f, -0.5f, 0, 0, 1, -1, 0.25f, 0.75f}, out[4 * 2];
    mem_data d = test_stream(x, NULL, 4);
    CHECK_OK(mem_model_predict(g, &d, 1, out, 8));
    for (int i = 0; i < 8; i++) CHECK(isfinite(out[i]));
    mem_model_free(g);
}

/* Golden file of the CONF array record (Hyper-AMN's memory_decays), format version 1. Arrays came
 * without a format-version bump (see io.c: only kinds newer than the record can hold one, and an
 * older libmem refuses their kind before it reads CONF), so this file pins the record's layout: a
 * change that breaks it must bump FORMAT_VERSION and keep this file loading. The metadata holds
 * the predictions the model made when the file was written (MEMNATIVE_WRITE_GOLDEN=1 rewrites it). */
enum { GH_STEPS = 5, GH_IN = 2 };
static const float gh_x[GH_STEPS * GH_IN] = {0.1f, -0.2f, 0.3f, 0.5f, -0.5f, 0, 1, -1, 0.25f, 0.75f};

static void golden_hyper_write(const char *path) {
    enum { N = 120 };
    float x[N * GH_IN], y[N];
    test_rng r = {11};
    test_fill(&r, x, N * GH_IN, -1, 1);
    test_fill(&r, y, N, -1, 1);
    const char *settings[] = {"hidden_size=6", "n_heads=2", "memory_decays=0.98,0.997", "memory_manifold_size=4",
                              NULL};
    mem_model *m = test_model("hyper_amn", GH_IN, 1, settings);
    mem_data d = test_stream(x, y, N);
    CHECK_OK(mem_model_train_epoch(m, &d, MEM_TRAIN_RESTART_SCHEDULE, NULL, NULL, NULL));
    float out[GH_STEPS];
    mem_data q = test_stream(gh_x, NULL, GH_STEPS);
    CHECK_OK(mem_model_predict(m, &q, 1, out, GH_STEPS));
    char meta[512];
    int len = snprintf(meta, sizeof meta, "{\"golden\": 1, \"predictions\": [");
    for (int i = 0; i < GH_STEPS; i++) len += snprintf(meta + len, sizeof meta - (size_t)len, "%s%.9g", i ? ", " : "", out[i]);
    snprintf(meta + len, sizeof meta - (size_t)len, "]}");
    CHECK_OK(mem_model_save(m, path, meta));
    mem_model_free(m);
}

static void test_golden_config_array(void) {
    const char *dir = getenv("MEMNATIVE_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/hyper_amn_v1.mem", dir ? dir : "tests/c/data");
    if (getenv("MEMNATIVE_WRITE_GOLDEN")) golden_hyper_write(path);
    mem_model *g = NULL;
    CHECK_OK(mem_model_load(path, &g));
    if (!g) return;
    CHECK(strcmp(mem_model_kind(g), "hyper_amn") == 0 && mem_model_n_inputs(g) == GH_IN && mem_model_n_outputs(g) == 1);
    /* the array record: both decays, exactly as written (f64) */
    mem_config *cfg = NULL;
    CHECK_OK(mem_model_get_config(g, &cfg));
    double decays[4] = {0};
    int64_t n_decays = 0;
    CHECK_OK(mem_config_get_floats(cfg, "memory_decays", decays, 4, &n_decays));
    CHECK_MSG(n_decays == 2 && decays[0] == 0.98 && decays[1] == 0.997, "memory_decays not read back from CONF");
    mem_config_free(cfg);
    /* re-saves to the same bytes */
    check_resaves_identically(g, path, "hyper_amn");
    /* predicts what it predicted when written (to 1e-5: other SIMD paths may round differently) */
    char meta[512];
    int64_t len = 0;
    CHECK_OK(mem_model_metadata(g, meta, sizeof meta, &len));
    const char *p = strstr(meta, "\"predictions\": [");
    CHECK(p != NULL);
    float out[GH_STEPS];
    mem_data q = test_stream(gh_x, NULL, GH_STEPS);
    CHECK_OK(mem_model_predict(g, &q, 1, out, GH_STEPS));
    if (p) {
        p += strlen("\"predictions\": [");
        for (int i = 0; i < GH_STEPS; i++) {
            char *end;
            const double ref = strtod(p, &end);
            CHECK_MSG(end != p && fabs((double)out[i] - ref) <= 1e-5 * (1 + fabs(ref)),
                      "hyper_amn golden prediction %d: %.9g, written %.9g", i, (double)out[i], ref);
            p = end + (*end == ',' ? 1 : 0);
        }
    }
    mem_model_free(g);
}

int main(void) {
    char dir[] = "/tmp/libmem_test_io_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    test_round_trip(dir);
    test_corrupt();
    test_golden();
    test_golden_config_array();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    TEST_MAIN_END();
}
