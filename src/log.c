/* User-facing messages and fatal exits. Deliberately free of MPI: these run
 * before MPI_Init, after MPI_Finalize and inside the unit tests alike. */
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c11 */
#endif
#include "bl_log.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

/* "biaslab: error: <message>" on stderr, after the progress lines already
 * printed so they appear before it. */
static void report_error(const char *fmt, va_list ap)
{
    fflush(stdout);
    fputs("biaslab: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
}

void bl_fatal(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_error(fmt, ap);
    va_end(ap);
    exit(code);
}

void bl_fatal_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "biaslab: internal error at %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(BL_EXIT_RUNTIME);
}

void bl_fatal_now(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_error(fmt, ap);
    va_end(ap);
    /* no exit handlers: HDF5's would close the failed file again and crash */
    _exit(code);
}

void bl_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    /* Batch systems buffer stdout in blocks; flush so the log is live. */
    fflush(stdout);
}

__attribute__((noreturn)) static void out_of_memory(size_t bytes, const char *file, int line)
{
    bl_fatal(BL_EXIT_RUNTIME,
             "out of memory allocating %zu bytes at %s:%d "
             "(reduce the problem size or use more ranks)",
             bytes, file, line);
}

void *bl_malloc_at(size_t bytes, const char *file, int line)
{
    /* malloc(0) may return NULL on success; ask for one byte instead so NULL
     * always means failure. */
    void *p = malloc(bytes > 0 ? bytes : 1);
    if (p == NULL)
        out_of_memory(bytes, file, line);
    return p;
}

void *bl_calloc_at(size_t count, size_t size, const char *file, int line)
{
    /* The product must not wrap, or we would report (and get) a tiny size. */
    if (size != 0 && count > SIZE_MAX / size)
        bl_fatal(BL_EXIT_RUNTIME,
                 "out of memory allocating %zu x %zu bytes at %s:%d "
                 "(reduce the problem size or use more ranks)",
                 count, size, file, line);
    size_t bytes = count * size;
    void *p = calloc(bytes > 0 ? count : 1, bytes > 0 ? size : 1);
    if (p == NULL)
        out_of_memory(bytes, file, line);
    return p;
}

double bl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
