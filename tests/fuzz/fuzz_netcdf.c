/* libFuzzer target for the NetCDF data loader (bl_netcdf_data_load and
 * bl_netcdf_dataset_load in src/datafile.c).
 *
 * Input: the bytes of a NetCDF file (classic, 64-bit offset, CDF-5 or
 * NetCDF-4/HDF5; seeds from make_corpus.sh via ncgen). The bytes go to a
 * temporary file that libnetcdf opens by name.
 *
 * Properties checked: the loader returns (never exits) and closes every file
 * it opened; a failure leaves a message and zeroed data sets; a success gives
 * consistent data sets (finite features, labels in [0, classes), equal
 * feature counts) and, from a classic-format file, no more values than the
 * file has bytes.
 *
 * Crashes inside libnetcdf/libhdf5 on malformed files are third-party bugs;
 * the stack trace tells them apart from biaslab's. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netcdf.h>
#include <unistd.h>

#include "bl_datafile.h"

static char nc_path[4096];
static int nc_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* HDF5 locks files it opens; nobody else opens ours. */
    setenv("HDF5_USE_FILE_LOCKING", "FALSE", 1);
    const char *dir = getenv("TMPDIR");
    snprintf(nc_path, sizeof nc_path, "%s/fuzz_netcdf.XXXXXX", dir && *dir ? dir : "/tmp");
    nc_fd = mkstemp(nc_path);
    if (nc_fd < 0) {
        perror("fuzz_netcdf: mkstemp");
        abort();
    }
    return 0;
}

/* The temporary file is removed when the fuzzer exits normally. */
__attribute__((destructor)) static void remove_tmp(void)
{
    if (nc_fd >= 0)
        unlink(nc_path);
}

static void fail(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_netcdf: %s (message: %s)\n", what, err);
    abort();
}

static void check_set(const struct bl_dataset *d, const char *what)
{
    if (d->n < 1 || d->dim < 1 || d->classes < 1 || !d->x || !d->label)
        fail("inconsistent data set", what);
    for (long i = 0; i < (long)d->n * d->dim; i++)
        if (!isfinite(d->x[i]))
            fail("non-finite feature accepted", what);
    for (int i = 0; i < d->n; i++)
        if (d->label[i] < 0 || d->label[i] >= d->classes)
            fail("label out of range accepted", what);
}

/* Files the loader opened and did not close. The fuzz binary is linked with
 * -Wl,--wrap=nc_open,--wrap=nc_close (see the Makefile), so every call the
 * loader makes goes through these. libnetcdf's own leaks when nc_open fails
 * on a malformed file are suppressed for LeakSanitizer (lsan.supp); this is
 * how biaslab's side, one nc_close per successful nc_open, is checked. */
int __real_nc_open(const char *path, int mode, int *ncidp);
int __real_nc_close(int ncid);
static int open_files;

int __wrap_nc_open(const char *path, int mode, int *ncidp)
{
    int rc = __real_nc_open(path, mode, ncidp);
    if (rc == NC_NOERR)
        open_files++;
    return rc;
}

int __wrap_nc_close(int ncid)
{
    int rc = __real_nc_close(ncid);
    if (rc == NC_NOERR)
        open_files--;
    return rc;
}

static int empty(const struct bl_dataset *d)
{
    return d->x == NULL && d->label == NULL && d->n == 0 && d->dim == 0 && d->classes == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (ftruncate(nc_fd, 0) != 0 || (size > 0 && pwrite(nc_fd, data, size, 0) != (ssize_t)size))
        abort();

    struct bl_dataset train, test;
    char err[1024];
    err[0] = '\0';
    char note[1024];
    int rc = bl_netcdf_data_load(nc_path, &train, &test, note, sizeof note, err, sizeof err);
    if (rc != 0) {
        if (err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL)
            fail("failed without a message", "");
        if (!empty(&train) || !empty(&test))
            fail("failed but left a non-empty data set", err);
    } else {
        check_set(&train, "train");
        /* A classic-format file (magic "CDF") stores each value in at least
         * one byte, uncompressed: more values than bytes means the loader
         * made data up (libnetcdf reads records past the end as zeros). */
        if (size >= 3 && memcmp(data, "CDF", 3) == 0 &&
            ((size_t)train.n * (size_t)train.dim > size ||
             (size_t)test.n * (size_t)(test.dim > 0 ? test.dim : 1) > size))
            fail("more values loaded than the classic file has bytes", "");
        if (test.n > 0) {
            check_set(&test, "test");
            if (test.dim != train.dim || test.classes != train.classes)
                fail("train and test disagree on features or classes", "");
        } else if (!empty(&test)) {
            fail("no test set but a non-empty test struct", "");
        }
        bl_dataset_release(&train);
        bl_dataset_release(&test);
    }

    /* The single-pair loader on other variable names (x_test/y_test). */
    struct bl_dataset d;
    err[0] = '\0';
    rc = bl_netcdf_dataset_load(nc_path, "x_test", "y_test", &d, err, sizeof err);
    if (rc != 0) {
        if (err[0] == '\0' || !empty(&d))
            fail("x_test/y_test: failed without a message or left data", err);
    } else {
        check_set(&d, "x_test/y_test");
        bl_dataset_release(&d);
    }
    if (open_files != 0)
        fail("the loader left a NetCDF file open (nc_open without nc_close)", err);
    return 0;
}
