/* Euler and RK4 steps and their discrete adjoints (see ode.h). Compiled twice (float, double).
 *
 * RK4 (classic): k1 = f(y), k2 = f(y + h/2 k1), k3 = f(y + h/2 k2), k4 = f(y + h k3),
 * y1 = y + h/6 (k1 + 2 k2 + 2 k3 + k4). The forward keeps only the stage inputs; y1 itself serves as
 * the running sum of the k's, so one vector of work suffices.
 *
 * Backward, with g1 = dL/dy1 and t_s = J(y_s)ᵀ gk_s:
 *   gk4 = h/6 g1;           t4 -> g0 += t4, and y_3 = y + h k3 gives gk3 = h/3 g1 + h t4
 *   gk3;                    t3 -> g0 += t3, gk2 = h/3 g1 + h/2 t3
 *   gk2;                    t2 -> g0 += t2, gk1 = h/6 g1 + h/2 t2
 *   gk1;                    t1 -> g0 += t1,  with g0 starting at g1 (the identity path). */
#define MEM_GENERIC_SOURCE
#include "ode/ode.h"

#include <string.h>

void MEM_FN(mem_ode_step)(mem_ode_method m, int64_t n, mem_real h, MEM_FN(mem_ode_rhs) f, void *ctx,
                          const mem_real *y0, mem_real *y1, mem_real *stage_y, mem_real *k) {
    if (stage_y != y0) memcpy(stage_y, y0, (size_t)n * sizeof *y0);
    if (m == MEM_ODE_EULER) {
        f(ctx, 0, stage_y, k);
        for (int64_t j = 0; j < n; j++) y1[j] = y0[j] + h * k[j];
        return;
    }
    const mem_real half = h / 2, sixth = h / 6;
    mem_real *ys1 = stage_y + n, *ys2 = ys1 + n, *ys3 = ys2 + n;
    f(ctx, 0, stage_y, k);
    for (int64_t j = 0; j < n; j++) {
        y1[j] = k[j];
        ys1[j] = y0[j] + half * k[j];
    }
    f(ctx, 1, ys1, k);
    for (int64_t j = 0; j < n; j++) {
        y1[j] += 2 * k[j];
        ys2[j] = y0[j] + half * k[j];
    }
    f(ctx, 2, ys2, k);
    for (int64_t j = 0; j < n; j++) {
        y1[j] += 2 * k[j];
        ys3[j] = y0[j] + h * k[j];
    }
    f(ctx, 3, ys3, k);
    for (int64_t j = 0; j < n; j++) y1[j] = y0[j] + sixth * (y1[j] + k[j]);
}

void MEM_FN(mem_ode_step_backward)(mem_ode_method m, int64_t n, mem_real h, MEM_FN(mem_ode_vjp) vjp, void *ctx,
                                   const mem_real *stage_y, const mem_real *g1, mem_real *g0, mem_real *work) {
    mem_real *gk = work, *t = work + n;
    memcpy(g0, g1, (size_t)n * sizeof *g1);
    if (m == MEM_ODE_EULER) {
        for (int64_t j = 0; j < n; j++) gk[j] = h * g1[j];
        vjp(ctx, 0, stage_y, gk, t);
        for (int64_t j = 0; j < n; j++) g0[j] += t[j];
        return;
    }
    const mem_real half = h / 2, third = h / 3, sixth = h / 6;
    /* stage 3 (k4 = f(y + h k3)) */
    for (int64_t j = 0; j < n; j++) gk[j] = sixth * g1[j];
    vjp(ctx, 3, stage_y + 3 * n, gk, t);
    for (int64_t j = 0; j < n; j++) {
        g0[j] += t[j];
        gk[j] = third * g1[j] + h * t[j];
    }
    /* stage 2 (k3 = f(y + h/2 k2)) */
    vjp(ctx, 2, stage_y + 2 * n, gk, t);
    for (int64_t j = 0; j < n; j++) {
        g0[j] += t[j];
        gk[j] = third * g1[j] + half * t[j];
    }
    /* stage 1 (k2 = f(y + h/2 k1)) */
    vjp(ctx, 1, stage_y + n, gk, t);
    for (int64_t j = 0; j < n; j++) {
        g0[j] += t[j];
        gk[j] = sixth * g1[j] + half * t[j];
    }
    /* stage 0 (k1 = f(y)) */
    vjp(ctx, 0, stage_y, gk, t);
    for (int64_t j = 0; j < n; j++) g0[j] += t[j];
}
