#include "rng.h"

#include <math.h>

/* SplitMix64's finaliser over seed + counter * golden gamma: a bijective, well-mixed hash of the
 * counter, which is what makes the stream counter-based. */
static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void mem_rng_init(mem_rng *rng, uint64_t seed) {
    rng->seed = mix64(seed ^ UINT64_C(0x6a09e667f3bcc909));
    rng->counter = 0;
}

uint64_t mem_rng_next_u64(mem_rng *rng) {
    uint64_t v = mix64(rng->seed + rng->counter * UINT64_C(0x9e3779b97f4a7c15));
    rng->counter++;
    return v;
}

double mem_rng_uniform(mem_rng *rng) {
    return (double)(mem_rng_next_u64(rng) >> 11) * 0x1.0p-53;
}

double mem_rng_normal(mem_rng *rng) {
    double u1 = mem_rng_uniform(rng);
    double u2 = mem_rng_uniform(rng);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint64_t mem_rng_below(mem_rng *rng, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do {
        v = mem_rng_next_u64(rng);
    } while (v >= limit);
    return v % n;
}

void mem_rng_shuffle(mem_rng *rng, int64_t *idx, int64_t n) {
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)mem_rng_below(rng, (uint64_t)i + 1);
        int64_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
    }
}
