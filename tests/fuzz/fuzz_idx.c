/* libFuzzer target for the IDX loader (bl_idx_load in src/datafile.c).
 *
 * Input: the bytes of an IDX images file, plain or gzip. The labels file is
 * fixed: the first 20 labels of Fashion-MNIST's t10k set (every class
 * present), so the seeds made by make_corpus.sh (the first 20 t10k images,
 * plain and gzip, and smaller synthetic ones) load successfully.
 *
 * The last input byte is not part of the file: it picks how the loader is
 * called (make_corpus.sh appends it to each seed):
 *   bits 0-1: 0 all classes; 1 keep {1, 0}; 2 max_examples 3; 3 keep {9}
 *   and max_examples 1;
 *   bit 2: gzip the file in the harness first, so that the loader's gzip
 *   path sees well-formed compressed streams of mutated IDX data.
 *
 * Properties checked: the loader returns (never exits); a failure leaves a
 * message and a zeroed data set; a success gives a consistent data set with
 * pixels in [0, 1] and labels in [0, classes). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "bl_datafile.h"

#include "fuzz_memfd.h"

static const unsigned char fixed_labels[20] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7,
                                               4, 5, 7, 3, 4, 1, 2, 4, 8, 0};
static int img_fd = -1;
static char img_path[64], lab_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    unsigned char labels[8 + sizeof fixed_labels] = {0, 0, 8, 1, 0, 0, 0, sizeof fixed_labels};
    memcpy(labels + 8, fixed_labels, sizeof fixed_labels);
    int lab_fd = make_memfd("fuzz_idx_labels", lab_path, sizeof lab_path);
    put_file(lab_fd, labels, sizeof labels);
    img_fd = make_memfd("fuzz_idx_images", img_path, sizeof img_path);
    return 0;
}

static void put_gzip(const uint8_t *data, size_t size)
{
    uLong bound = compressBound((uLong)size) + 64;
    unsigned char *buf = malloc(bound);
    if (!buf)
        abort();
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* windowBits 15 + 16: a gzip wrapper, as gzip(1) writes. */
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)size;
    zs.next_out = buf;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
        abort();
    put_file(img_fd, buf, zs.total_out);
    deflateEnd(&zs);
    free(buf);
}

static void fail(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_idx: %s (message: %s)\n", what, err);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int keep10[] = {1, 0}, keep9[] = {9};
    const int *keep = NULL;
    int n_keep = 0;
    long max_examples = 0;
    if (size == 0)
        return 0;
    unsigned mode = data[--size];
    switch (mode & 3) {
    case 1: keep = keep10; n_keep = 2; break;
    case 2: max_examples = 3; break;
    case 3: keep = keep9; n_keep = 1; max_examples = 1; break;
    default: break;
    }
    if (mode & 4)
        put_gzip(data, size);
    else
        put_file(img_fd, data, size);

    struct bl_dataset d;
    char err[1024];
    err[0] = '\0';
    memset(&d, 0x5a, sizeof d); /* the loader must zero it */
    int rc = bl_idx_load(img_path, lab_path, keep, n_keep, max_examples, &d, err, sizeof err);
    if (rc != 0) {
        if (err[0] == '\0' || memchr(err, '\0', sizeof err) == NULL)
            fail("failed without a message", "");
        if (d.x != NULL || d.label != NULL || d.n != 0 || d.dim != 0 || d.classes != 0)
            fail("failed but left a non-empty data set", err);
        return 0;
    }
    int want_classes = n_keep > 0 ? n_keep : 10;
    long want_n = max_examples > 0 ? max_examples : n_keep == 2 ? 5 : 20;
    if (d.classes != want_classes || d.n != want_n || d.dim < 1 || !d.x || !d.label)
        fail("inconsistent data set", "");
    for (long i = 0; i < (long)d.n * d.dim; i++)
        if (!(d.x[i] >= 0 && d.x[i] <= 1))
            fail("pixel outside [0, 1]", "");
    for (int i = 0; i < d.n; i++)
        if (d.label[i] < 0 || d.label[i] >= d.classes)
            fail("label out of range", "");
    bl_dataset_release(&d);
    return 0;
}
