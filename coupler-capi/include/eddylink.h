/*
 * eddylink.h — the C ABI of eddylink's coupler (crate coupler-capi, library libeddylink).
 *
 * Hand-written and checked against coupler-capi/src/lib.rs: tests/tests/capi.rs compiles
 * the C toy ocean against this header with -Wall -Werror, and the crate's test
 * `header_matches_the_exports` checks that every function below is exported and every
 * export is declared here, with the same codes.
 *
 * Lifecycle (the OASIS3-MCT call each replaces in brackets):
 *   eddylink_init / eddylink_init_world     [oasis_init_comp]
 *   eddylink_get_localcomm                  [oasis_get_localcomm]
 *   eddylink_def_partition                  [oasis_def_partition]
 *   eddylink_def_var / eddylink_def_all     [oasis_def_var]
 *   eddylink_enddef                         [oasis_enddef]
 *   eddylink_put_f32/f64, eddylink_get_f32/f64   [oasis_put, oasis_get]
 *   eddylink_finalize                       [oasis_terminate]
 *   eddylink_abort                          [oasis_abort]
 *
 * Every function returns EDDYLINK_OK (0) or an EDDYLINK_ERR_* code; the reason, naming
 * the call, field, rank and values, is given by eddylink_error_message (per thread,
 * until the next failing call). No call panics or unwinds into the caller.
 *
 * Communicators cross as Fortran integer handles (MPI_Comm_c2f / MPI_Comm_f2c), so that
 * one header serves MPICH (MPI_Comm is an int) and Open MPI (a pointer). The library must
 * be linked against the MPI the program uses.
 *
 * Arrays are indexed (i, j, level) over this rank's box: EDDYLINK_COLUMN_MAJOR means i
 * fastest (Fortran a(ni,nj,nl), C a[nl][nj][ni]; no copy), EDDYLINK_ROW_MAJOR the level
 * fastest (C a[ni][nj][nl]; transposed through a scratch array).
 */
#ifndef EDDYLINK_H
#define EDDYLINK_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EDDYLINK_OK 0
#define EDDYLINK_ERR_ARGUMENT 1     /* null pointer, bad id, bad layout or extents */
#define EDDYLINK_ERR_CONFIG 2       /* experiment file or [coupling] table */
#define EDDYLINK_ERR_SETUP 3        /* the job cannot couple (every rank gets it alike) */
#define EDDYLINK_ERR_STATE 4        /* a call in the wrong state of the lifecycle */
#define EDDYLINK_ERR_FIELD 5        /* a field [coupling] does not name for the component */
#define EDDYLINK_ERR_SIZE 6         /* an array whose extents differ from the field's */
#define EDDYLINK_ERR_TIMEOUT 7      /* a wait past [coupling] timeout: a peer is dead or stuck */
#define EDDYLINK_ERR_PEER_FAILED 8  /* another component failed and said why */
#define EDDYLINK_ERR_PEER_STOPPED 9 /* another component stopped early and cleanly */
#define EDDYLINK_ERR_SEQUENCE 10    /* a get out of step with the data posted */
#define EDDYLINK_ERR_MPI 11         /* an MPI call of the library failed */
#define EDDYLINK_ERR_PANIC 12       /* a bug inside the library, caught at the ABI */

#define EDDYLINK_COLUMN_MAJOR 0
#define EDDYLINK_ROW_MAJOR 1

typedef struct eddylink_coupler eddylink_coupler;

/* Join the coupled job as `component`, reading [coupling] from `experiment`, over the
 * communicator with Fortran handle `comm_f` (MPI must be initialised). Collective. */
int eddylink_init(const char *component, const char *experiment, int comm_f,
                  eddylink_coupler **cpl);
/* The same over MPI_COMM_WORLD, calling MPI_Init first if nobody has (then
 * eddylink_finalize calls MPI_Finalize). */
int eddylink_init_world(const char *component, const char *experiment,
                        eddylink_coupler **cpl);

/* The component's own communicator, as a Fortran handle. */
int eddylink_get_localcomm(eddylink_coupler *cpl, int *comm_f);
/* Rank and size in the communicator with Fortran handle `comm_f`. */
int eddylink_comm_rank_size(int comm_f, int *rank, int *size);
/* [coupling] grid = [nx, ny]. */
int eddylink_grid(eddylink_coupler *cpl, int *nx, int *ny);

/* This rank's box: 0-based offsets i0, j0 and extents ni, nj (no halo). */
int eddylink_def_partition(eddylink_coupler *cpl, int i0, int j0, int ni, int nj,
                           int *part_id);
/* One field on a partition; levels 0 takes [coupling]'s. Grid point and halo come from
 * [coupling]. */
int eddylink_def_var(eddylink_coupler *cpl, const char *field, int part_id, int levels,
                     int *var_id);
/* Every field [coupling] names for the component; `count` may be NULL. */
int eddylink_def_all(eddylink_coupler *cpl, int part_id, int *count);
int eddylink_var_id(eddylink_coupler *cpl, const char *field, int *var_id);
/* Collective over every component: checks the boxes tile the grid, builds the routes. */
int eddylink_enddef(eddylink_coupler *cpl);

/* Extents (i, j, level) of the array a get of var_id fills (the box grown by the halo). */
int eddylink_recv_shape(eddylink_coupler *cpl, int var_id, int *ni, int *nj, int *levels,
                        int *halo);

/* Put this rank's box at model time `time` (s); data holds ni*nj*levels values. */
int eddylink_put_f64(eddylink_coupler *cpl, int var_id, double time, const double *data,
                     int ni, int nj, int levels, int layout);
int eddylink_put_f32(eddylink_coupler *cpl, int var_id, double time, const float *data,
                     int ni, int nj, int levels, int layout);
/* Get at model time `time`; waits at most [coupling] timeout. *received (may be NULL) is
 * 0, data untouched, when `time` is not a coupling time of the field. */
int eddylink_get_f64(eddylink_coupler *cpl, int var_id, double time, double *data,
                     int ni, int nj, int levels, int layout, int *received);
int eddylink_get_f32(eddylink_coupler *cpl, int var_id, double time, float *data,
                     int ni, int nj, int levels, int layout, int *received);

/* End the coupling (collective); frees the handle and sets *cpl to NULL. On error the
 * handle is kept: call eddylink_abort. */
int eddylink_finalize(eddylink_coupler **cpl);
/* End the whole job, telling every other component `reason`. Does not return. */
int eddylink_abort(eddylink_coupler *cpl, const char *reason);

/* Copy the last error message (NUL-terminated, cut to len); returns its full length. */
size_t eddylink_error_message(char *buf, size_t len);
/* The last error message; valid until the thread's next failing call. */
const char *eddylink_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* EDDYLINK_H */
