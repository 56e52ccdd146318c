/* Counter-based random numbers: value i of a model's stream is a pure function of (seed, i),
 * so results never depend on threads or call order elsewhere, and saving (seed, counter) saves
 * the generator exactly. */
#ifndef MEM_CORE_RNG_H
#define MEM_CORE_RNG_H

#include <stdint.h>

typedef struct mem_rng {
    uint64_t seed;
    uint64_t counter;
} mem_rng;

void mem_rng_init(mem_rng *rng, uint64_t seed);
uint64_t mem_rng_next_u64(mem_rng *rng);
/* Uniform in [0, 1) with 53 random bits. */
double mem_rng_uniform(mem_rng *rng);
/* Standard normal (Box-Muller; consumes two counters). */
double mem_rng_normal(mem_rng *rng);
/* Uniform integer in [0, n) without modulo bias (n > 0). */
uint64_t mem_rng_below(mem_rng *rng, uint64_t n);
/* In-place Fisher-Yates shuffle of n indices. */
void mem_rng_shuffle(mem_rng *rng, int64_t *idx, int64_t n);

#endif
