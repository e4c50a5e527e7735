/* Messages for the user: progress lines and fatal errors with file:line. */
#ifndef BL_LOG_H
#define BL_LOG_H

#include <stdlib.h>

/* Exit codes (documented in the README). */
enum {
    BL_EXIT_OK = 0,
    BL_EXIT_RUNTIME = 1,     /* I/O failure, MPI failure, internal error */
    BL_EXIT_USAGE = 2,       /* bad command line, config or input file */
    BL_EXIT_INTERRUPTED = 3  /* stopped by a signal; the run can be resumed */
};

/* Print "biaslab: error: ..." and exit with code. */
void bl_fatal(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* The same, but leave at once without exit handlers: for I/O failures with
 * a NetCDF/HDF5 file open, whose library handlers would touch it again (and
 * crash, e.g. on a full disk). Checkpoints written so far stay intact. */
void bl_fatal_now(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* Print an internal error with its source location and exit BL_EXIT_RUNTIME. */
void bl_fatal_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));

/* A plain line on stdout, flushed (readable in a Slurm log). */
void bl_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* malloc that dies with a message naming the caller and the size. */
void *bl_malloc_at(size_t bytes, const char *file, int line);
void *bl_calloc_at(size_t count, size_t size, const char *file, int line);
#define bl_malloc(bytes) bl_malloc_at((bytes), __FILE__, __LINE__)
#define bl_calloc(count, size) bl_calloc_at((count), (size), __FILE__, __LINE__)

/* Seconds on a monotonic clock. */
double bl_now(void);

#endif
