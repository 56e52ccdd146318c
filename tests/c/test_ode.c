/* The integrators of src/ode in double (DESIGN §7): order of accuracy on a linear test system, and
 * the discrete adjoint against the transposed step.
 *
 * System: dy/dt = A y, A = [[-1, 2], [-2, -1]], exact solution y(t) = e^{-t} R(2t) y(0) with R the
 * rotation [[cos, sin], [-sin, cos]]. Integrated to t = 2 with steps h and h/2, the global error of
 * a method of order p shrinks by 2^p: 16 for RK4, 2 for Euler. */
#define MEM_REAL_DOUBLE
#define MEM_GENERIC_SOURCE
#include <math.h>
#include <string.h>

#include "ode/ode.h"
#include "testing.h"

typedef struct linear {
    double A[2][2];
    int calls;
} linear;

static void rhs(void *ctx, int stage, const double *y, double *dy) {
    linear *s = ctx;
    (void)stage;
    s->calls++;
    for (int i = 0; i < 2; i++) dy[i] = s->A[i][0] * y[0] + s->A[i][1] * y[1];
}

static void vjp(void *ctx, int stage, const double *y, const double *gdy, double *gy) {
    linear *s = ctx;
    (void)stage;
    (void)y;
    for (int j = 0; j < 2; j++) gy[j] = s->A[0][j] * gdy[0] + s->A[1][j] * gdy[1];
}

static double global_error(mem_ode_method m, int steps) {
    linear s = {{{-1, 2}, {-2, -1}}, 0};
    const double t_end = 2.0, h = t_end / steps;
    double y[2] = {1.0, 0.5}, y1[2], stages[8], k[2];
    for (int n = 0; n < steps; n++) {
        mem_ode_step_f64(m, 2, h, rhs, &s, y, y1, stages, k);
        memcpy(y, y1, sizeof y);
    }
    CHECK(s.calls == steps * mem_ode_stages(m));
    const double c = cos(2 * t_end), sn = sin(2 * t_end), e = exp(-t_end);
    const double ex0 = e * (c * 1.0 + sn * 0.5), ex1 = e * (-sn * 1.0 + c * 0.5);
    return hypot(y[0] - ex0, y[1] - ex1);
}

/* <g, Φ v> = <Φᵀ g, v> for the linear step map Φ, for random-ish g and v. */
static void check_adjoint(mem_ode_method m) {
    linear s = {{{-1, 2}, {-2, -1}}, 0};
    const double h = 0.3, v[2] = {0.7, -1.3}, g[2] = {-0.4, 0.9};
    double y1[2], stages[8], k[2], g0[2], work[4];
    mem_ode_step_f64(m, 2, h, rhs, &s, v, y1, stages, k);
    mem_ode_step_backward_f64(m, 2, h, vjp, &s, stages, g, g0, work);
    const double lhs = g[0] * y1[0] + g[1] * y1[1], rhs_v = g0[0] * v[0] + g0[1] * v[1];
    CHECK_MSG(fabs(lhs - rhs_v) <= 1e-14, "method %d: <g, step v> = %.17g, <adjoint g, v> = %.17g", (int)m, lhs, rhs_v);
}

int main(void) {
    const double rk4 = global_error(MEM_ODE_RK4, 40) / global_error(MEM_ODE_RK4, 80);
    const double euler = global_error(MEM_ODE_EULER, 200) / global_error(MEM_ODE_EULER, 400);
    printf("error ratio when h halves: RK4 %.4f, Euler %.4f\n", rk4, euler);
    CHECK_MSG(fabs(rk4 - 16) <= 1.5, "RK4 error ratio %.4f, want 16 +- 1.5", rk4);
    CHECK_MSG(fabs(euler - 2) <= 0.2, "Euler error ratio %.4f, want 2 +- 0.2", euler);
    check_adjoint(MEM_ODE_EULER);
    check_adjoint(MEM_ODE_RK4);
    TEST_MAIN_END();
}
