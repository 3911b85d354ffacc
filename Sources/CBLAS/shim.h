#ifndef NGD_CBLAS_SHIM_H
#define NGD_CBLAS_SHIM_H

// CBLAS and the Fortran LAPACK entry points of OpenBLAS (Debian: libopenblas-dev).
// Link libopenblas, not the reference libblas that `pkg-config blas` resolves to:
// only OpenBLAS has openblas_set_num_threads and the LAPACK routines built in.
#include <cblas.h>

// Debian ships no LAPACKE header. These are the Fortran symbols inside libopenblas
// (column-major, arguments by pointer, 32-bit integers in the LP64 build).
int dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
int dpotri_(const char *uplo, const int *n, double *a, const int *lda, int *info);

#endif
