/* Which files a run's data come from, and a fingerprint of each (size and
 * CRC-32), so that a resume can refuse data that changed since the run
 * started (a task trained on the old file and one on the new must never
 * share an output). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "bl_data.h"
#include "bl_log.h"

void bl_fashion_file(const char *dir, int test, int labels, char *out, size_t len)
{
    snprintf(out, len, "%s/%s-%s-idx%d-ubyte.gz", dir, test ? "t10k" : "train",
             labels ? "labels" : "images", labels ? 1 : 3);
}

int bl_data_files(const struct bl_data_cfg *cfg, char (*paths)[BL_FILE_MAX], int max)
{
    int n = 0;
    if (cfg->kind == BL_DATA_NETCDF && n < max)
        snprintf(paths[n++], BL_FILE_MAX, "%s", cfg->path);
    if (cfg->kind == BL_DATA_FASHION_MNIST)
        for (int test = 0; test < 2; test++)
            for (int labels = 0; labels < 2 && n < max; labels++)
                if (test ? cfg->n_test > 0 : cfg->n_train > 0)
                    bl_fashion_file(cfg->path, test, labels, paths[n++], BL_FILE_MAX);
    return n;
}

int bl_file_fingerprint(const char *path, char *out, size_t len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "cannot read data file '%s': %s", path, strerror(errno));
        return 1;
    }
    unsigned char buf[1 << 16];
    uLong crc = crc32(0L, Z_NULL, 0);
    long long size = 0;
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        crc = crc32_z(crc, buf, got);
        size += (long long)got;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        snprintf(err, err_len, "cannot read data file '%s'", path);
        return 1;
    }
    snprintf(out, len, "%lld bytes, crc32 %08lx", size, (unsigned long)crc);
    return 0;
}
