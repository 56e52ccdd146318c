/* The cell registry: the single list of kinds. Adding a cell adds one line to each list. */
#define MEM_GENERIC_SOURCE
#include <string.h>

#include "model/kind.h"

extern const mem_cell_ops MEM_FN(mem_amrc_ops);
extern const mem_cell_ops MEM_FN(mem_pmrc_ops);
extern const mem_cell_ops MEM_FN(mem_amn_ops);
extern const mem_cell_ops MEM_FN(mem_ndm_ops);
extern const mem_cell_ops MEM_FN(mem_sgw_amn_ops);
extern const mem_cell_ops MEM_FN(mem_dtpn_ops);
extern const mem_cell_ops MEM_FN(mem_hyper_amn_ops);

static const struct {
    const char *name;
    const mem_cell_ops *ops;
} ops_registry[] = {
    {"amrc", &MEM_FN(mem_amrc_ops)},
    {"pmrc", &MEM_FN(mem_pmrc_ops)},
    {"amn", &MEM_FN(mem_amn_ops)},
    {"ndm", &MEM_FN(mem_ndm_ops)},
    {"sgw_amn", &MEM_FN(mem_sgw_amn_ops)},
    {"dtpn", &MEM_FN(mem_dtpn_ops)},
    {"hyper_amn", &MEM_FN(mem_hyper_amn_ops)},
};

const mem_cell_ops *MEM_FN(mem_cell_ops_find)(const char *kind) {
    for (size_t i = 0; i < sizeof ops_registry / sizeof ops_registry[0]; i++)
        if (strcmp(ops_registry[i].name, kind) == 0) return ops_registry[i].ops;
    return NULL;
}

#ifndef MEM_REAL_DOUBLE
static const mem_kind *const kind_registry[] = {
    &mem_kind_amrc,
    &mem_kind_pmrc,
    &mem_kind_amn,
    &mem_kind_ndm,
    &mem_kind_sgw_amn,
    &mem_kind_dtpn,
    &mem_kind_hyper_amn,
};

int64_t mem_kind_count(void) { return (int64_t)(sizeof kind_registry / sizeof kind_registry[0]); }

const mem_kind *mem_kind_at(int64_t i) {
    return i >= 0 && i < mem_kind_count() ? kind_registry[i] : NULL;
}

const mem_kind *mem_kind_find(const char *name) {
    if (!name) return NULL;
    for (int64_t i = 0; i < mem_kind_count(); i++)
        if (strcmp(kind_registry[i]->name, name) == 0) return kind_registry[i];
    return NULL;
}

int64_t mem_model_kinds(const char **names, int64_t capacity) {
    int64_t n = mem_kind_count();
    for (int64_t i = 0; names && i < n && i < capacity; i++) names[i] = kind_registry[i]->name;
    return n;
}
#endif
