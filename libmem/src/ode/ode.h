/* Explicit one-step integrators (Euler, classic RK4) for dy/dt = f(y), with their discrete
 * adjoints: the exact backward of the stages a step computed (not the continuous adjoint ODE), so a
 * cell that integrates with them gets the true gradient of what it evaluated (DESIGN §2,
 * spec/cells.md "NDM").
 *
 * The right-hand side is a callback, so a cell keeps its own data layout: f receives the stage index
 * (0 for Euler; 0..3 for RK4) and may cache per-stage values (e.g. a tanh) for its vjp. The stage
 * inputs are written to a caller buffer the backward reads; nothing is allocated.
 *
 * Generic: compiled twice (float, double); include from a MEM_GENERIC_SOURCE file. */
#ifndef MEM_ODE_ODE_H
#define MEM_ODE_ODE_H

#include <stdint.h>

typedef enum mem_ode_method { MEM_ODE_EULER = 0, MEM_ODE_RK4 = 1 } mem_ode_method;

/* Stages (right-hand side evaluations) per step: 1 or 4. */
static inline int mem_ode_stages(mem_ode_method m) { return m == MEM_ODE_RK4 ? 4 : 1; }

/* Largest stable step h of the method for dy/dt = -y (plus a bounded drive): the real-axis extent
 * of its stability region (Euler 2, RK4 about 2.785). A cell with a Lipschitz drive wants margin
 * below it; NDM uses 1 and 2.7. */
static inline double mem_ode_real_stability_limit(mem_ode_method m) { return m == MEM_ODE_RK4 ? 2.785 : 2.0; }

#ifdef MEM_GENERIC_SOURCE
#include "core/real.h"

/* dy = f(y) at stage `stage` of the current step (n values each). */
typedef void (*MEM_FN(mem_ode_rhs))(void *ctx, int stage, const mem_real *y, mem_real *dy);
/* gy = J_f(y)ᵀ gdy at stage `stage` (overwrites gy; y is that stage's input), accumulating the
 * gradients of f's own parameters into ctx. */
typedef void (*MEM_FN(mem_ode_vjp))(void *ctx, int stage, const mem_real *y, const mem_real *gdy, mem_real *gy);

/* One step of size h from y0 to y1 (y1 may not alias y0). stage_y receives the stage inputs
 * (mem_ode_stages(m) x n; stage 0 is a copy of y0, or y0 itself when stage_y == y0) for the
 * backward; k is n reals of work. */
void MEM_FN(mem_ode_step)(mem_ode_method m, int64_t n, mem_real h, MEM_FN(mem_ode_rhs) f, void *ctx,
                          const mem_real *y0, mem_real *y1, mem_real *stage_y, mem_real *k);

/* Discrete adjoint of that step: from g1 = dL/dy1 writes g0 = dL/dy0 (g0 may not alias g1), calling
 * vjp once per stage in reverse order. work: 2n reals. */
void MEM_FN(mem_ode_step_backward)(mem_ode_method m, int64_t n, mem_real h, MEM_FN(mem_ode_vjp) vjp, void *ctx,
                                   const mem_real *stage_y, const mem_real *g1, mem_real *g0, mem_real *work);
#endif

#endif
