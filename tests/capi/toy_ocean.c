/*
 * A toy ocean in C over eddylink.h: each rank owns one box of a PX × PY decomposition of
 * [coupling] grid, puts a known u and v at every step and gets sx, sy back from ml-server
 * (analytic model `linear`, sx = A u + B, sy = A v + B), which it checks cell by cell,
 * exactly. u goes as row-major doubles and v as column-major floats, sx comes back as
 * row-major doubles and sy as column-major floats: both layouts and both precisions.
 * Before enddef and after it the toy also checks that bad calls give the documented code.
 *
 *   mpiexec -n PX*PY toy_ocean_c EXP PX PY STEPS DT A B : -n N ml-server --config EXP
 *
 * It needs no MPI header: ranks come from eddylink_comm_rank_size.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eddylink.h"

static eddylink_coupler *cpl;

/* Ends the job with the last error's message when `rc` is not EDDYLINK_OK. */
static void check(int rc, const char *what) {
  if (rc == EDDYLINK_OK)
    return;
  char reason[2048];
  snprintf(reason, sizeof reason, "C toy ocean: %s failed (code %d): %s", what, rc,
           eddylink_last_error());
  fprintf(stderr, "%s\n", reason);
  eddylink_abort(cpl, reason);
}

/* Expects `rc` to be `code` with `words` in the message; ends the job otherwise. */
static void expect_error(int rc, int code, const char *words, const char *what) {
  if (rc == code && strstr(eddylink_last_error(), words))
    return;
  char reason[2048];
  snprintf(reason, sizeof reason, "C toy ocean: %s gave code %d (expected %d) and '%s' "
           "(expected it to contain '%s')", what, rc, code, eddylink_last_error(), words);
  eddylink_abort(cpl, reason);
}

/* The known fields at global cell (gi, gj), level l, step s: exact in float. */
static double u_at(int gi, int gj, int l, int s) { return gi + 32 * gj + 1024 * l + 8192 * s; }
static double v_at(int gi, int gj, int l, int s) { return 3 * gi - 7 * gj - 512 * l - 4096 * s; }

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: toy_ocean_c EXP PX PY STEPS DT A B\n");
    return 2;
  }
  const char *exp = argv[1];
  int px = atoi(argv[2]), py = atoi(argv[3]), steps = atoi(argv[4]);
  double dt = atof(argv[5]), a = atof(argv[6]), b = atof(argv[7]);

  check(eddylink_init_world("ocean", exp, &cpl), "eddylink_init_world");
  int comm, rank, size, nx, ny;
  check(eddylink_get_localcomm(cpl, &comm), "eddylink_get_localcomm");
  check(eddylink_comm_rank_size(comm, &rank, &size), "eddylink_comm_rank_size");
  check(eddylink_grid(cpl, &nx, &ny), "eddylink_grid");
  if (size != px * py) {
    char reason[256];
    snprintf(reason, sizeof reason, "C toy ocean: %d ranks for a %dx%d decomposition", size, px, py);
    eddylink_abort(cpl, reason);
  }
  /* Uneven boxes where the grid does not divide: as the Rust toys' blocks(). */
  int ri = rank % px, rj = rank / px;
  int i0 = ri * nx / px, ni = (ri + 1) * nx / px - i0;
  int j0 = rj * ny / py, nj = (rj + 1) * ny / py - j0;

  int part, u, v, sx, sy, bad;
  check(eddylink_def_partition(cpl, i0, j0, ni, nj, &part), "eddylink_def_partition");
  expect_error(eddylink_def_var(cpl, "uu", part, 0, &bad), EDDYLINK_ERR_FIELD,
               "its fields to exchange are: u, v, sx, sy", "def_var of an unknown field");
  check(eddylink_def_var(cpl, "u", part, 0, &u), "eddylink_def_var(u)");
  check(eddylink_def_var(cpl, "v", part, 0, &v), "eddylink_def_var(v)");
  check(eddylink_def_var(cpl, "sx", part, 0, &sx), "eddylink_def_var(sx)");
  check(eddylink_def_var(cpl, "sy", part, 0, &sy), "eddylink_def_var(sy)");
  int levels, rni, rnj, halo;
  expect_error(eddylink_put_f64(cpl, u, 0.0, &dt, 1, 1, 1, EDDYLINK_COLUMN_MAJOR),
               EDDYLINK_ERR_STATE, "put() cannot be called before enddef()", "put before enddef");
  check(eddylink_enddef(cpl), "eddylink_enddef");
  check(eddylink_recv_shape(cpl, sx, &rni, &rnj, &levels, &halo), "eddylink_recv_shape(sx)");
  if (rni != ni || rnj != nj || halo != 0)
    eddylink_abort(cpl, "C toy ocean: sx comes with a halo; this toy expects none");

  size_t n = (size_t)ni * nj * levels;
  double *u_row = malloc(n * sizeof *u_row), *sx_row = malloc(n * sizeof *sx_row);
  float *v_col = malloc(n * sizeof *v_col), *sy_col = malloc(n * sizeof *sy_col);
  if (!u_row || !sx_row || !v_col || !sy_col)
    eddylink_abort(cpl, "C toy ocean: out of memory");
  expect_error(eddylink_put_f64(cpl, u, 0.0, u_row, nj, ni + 1, levels, EDDYLINK_ROW_MAJOR),
               EDDYLINK_ERR_SIZE, "field 'u'", "put of a wrongly shaped array");
  expect_error(eddylink_put_f64(cpl, 99, 0.0, u_row, ni, nj, levels, EDDYLINK_ROW_MAJOR),
               EDDYLINK_ERR_ARGUMENT, "variable id 99", "put of an unknown variable id");
  expect_error(eddylink_put_f64(cpl, u, 0.0, u_row, ni, nj, levels, 7),
               EDDYLINK_ERR_ARGUMENT, "layout 7", "put with a bad layout");

  long checked = 0;
  for (int s = 0; s < steps; s++) {
    double t = s * dt;
    for (int i = 0; i < ni; i++)
      for (int j = 0; j < nj; j++)
        for (int l = 0; l < levels; l++) {
          u_row[((size_t)i * nj + j) * levels + l] = u_at(i0 + i, j0 + j, l, s);
          v_col[i + (size_t)ni * (j + (size_t)nj * l)] = (float)v_at(i0 + i, j0 + j, l, s);
        }
    check(eddylink_put_f64(cpl, u, t, u_row, ni, nj, levels, EDDYLINK_ROW_MAJOR), "put u");
    check(eddylink_put_f32(cpl, v, t, v_col, ni, nj, levels, EDDYLINK_COLUMN_MAJOR), "put v");
    int got_x, got_y;
    check(eddylink_get_f64(cpl, sx, t, sx_row, ni, nj, levels, EDDYLINK_ROW_MAJOR, &got_x), "get sx");
    check(eddylink_get_f32(cpl, sy, t, sy_col, ni, nj, levels, EDDYLINK_COLUMN_MAJOR, &got_y), "get sy");
    if (!got_x || !got_y)
      eddylink_abort(cpl, "C toy ocean: a coupling step delivered no forcing");
    for (int i = 0; i < ni; i++)
      for (int j = 0; j < nj; j++)
        for (int l = 0; l < levels; l++) {
          double ex = a * u_at(i0 + i, j0 + j, l, s) + b, ey = a * v_at(i0 + i, j0 + j, l, s) + b;
          double gx = sx_row[((size_t)i * nj + j) * levels + l];
          double gy = sy_col[i + (size_t)ni * (j + (size_t)nj * l)];
          if (gx != ex || gy != ey) {
            char reason[512];
            snprintf(reason, sizeof reason, "C toy ocean: step %d cell (%d, %d) level %d: "
                     "sx = %.9g, sy = %.9g; expected %.9g, %.9g", s, i0 + i, j0 + j, l, gx, gy, ex, ey);
            eddylink_abort(cpl, reason);
          }
          checked++;
        }
  }
  check(eddylink_finalize(&cpl), "eddylink_finalize");
  if (cpl != NULL)
    return 1;
  printf("C toy ocean rank %d/%d: box i %d..%d, j %d..%d, %d levels, %d steps: "
         "%ld forcing values exact, error paths ok\n",
         rank, size, i0, i0 + ni, j0, j0 + nj, levels, steps, checked);
  free(u_row);
  free(sx_row);
  free(v_col);
  free(sy_col);
  return 0;
}
