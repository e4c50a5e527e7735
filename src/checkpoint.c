/* Atomic, checksummed files (see bl_checkpoint.h). Layout of a blob:
 * magic "BIASLAB1" (8 bytes), kind (uint32), reserved (uint32), n (int64),
 * n doubles, CRC-32 (uint32, zlib's) of everything before it. Native byte
 * order: checkpoints are read back on the machine type that wrote them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "bl_checkpoint.h"
#include "bl_log.h"

static const char blob_magic[8] = {'B', 'I', 'A', 'S', 'L', 'A', 'B', '1'};

struct blob_header {
    char magic[8];
    uint32_t kind;
    uint32_t reserved;
    int64_t n;
};

/* Write bytes to fd completely. */
static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* tmp file -> fsync -> rename: after a crash either the old file or the new
 * one is there, never a mixture. */
static int atomic_write(const char *path, const void *const *parts, const size_t *sizes,
                        int n_parts, char *err, size_t err_len)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        snprintf(err, err_len, "cannot create '%s': %s", tmp, strerror(errno));
        return 1;
    }
    for (int i = 0; i < n_parts; i++)
        if (write_all(fd, parts[i], sizes[i]) != 0) {
            snprintf(err, err_len, "cannot write '%s': %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            return 1;
        }
    if (fsync(fd) != 0 || close(fd) != 0) {
        snprintf(err, err_len, "cannot flush '%s': %s", tmp, strerror(errno));
        unlink(tmp);
        return 1;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, err_len, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        unlink(tmp);
        return 1;
    }
    return 0;
}

int bl_blob_write(const char *path, enum bl_blob_kind kind, const double *data, long n,
                  char *err, size_t err_len)
{
    struct blob_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, blob_magic, sizeof h.magic);
    h.kind = (uint32_t)kind;
    h.n = n;
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, (const Bytef *)&h, sizeof h);
    crc = crc32_z(crc, (const Bytef *)data, sizeof(double) * (size_t)n);
    uint32_t crc32_value = (uint32_t)crc;
    const void *parts[3] = {&h, data, &crc32_value};
    size_t sizes[3] = {sizeof h, sizeof(double) * (size_t)n, sizeof crc32_value};
    return atomic_write(path, parts, sizes, 3, err, err_len);
}

int bl_blob_read(const char *path, enum bl_blob_kind kind, double **data, long *n, char *err,
                 size_t err_len)
{
    *data = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return 1;
        snprintf(err, err_len, "cannot open '%s': %s", path, strerror(errno));
        return 2;
    }
    struct blob_header h;
    int rc = 2;
    double *buf = NULL;
    if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, blob_magic, sizeof h.magic) != 0) {
        snprintf(err, err_len, "'%s' is not a biaslab checkpoint (bad header)", path);
        goto done;
    }
    if (h.kind != (uint32_t)kind) {
        snprintf(err, err_len, "'%s' holds data of kind %u, expected %u", path, h.kind,
                 (unsigned)kind);
        goto done;
    }
    if (h.n < 0 || h.n > (int64_t)1 << 40) {
        snprintf(err, err_len, "'%s' claims %lld values", path, (long long)h.n);
        goto done;
    }
    buf = bl_malloc(sizeof(double) * (size_t)(h.n + 1));
    uint32_t stored;
    if (fread(buf, sizeof(double), (size_t)h.n, f) != (size_t)h.n ||
        fread(&stored, sizeof stored, 1, f) != 1) {
        snprintf(err, err_len, "'%s' is truncated", path);
        goto done;
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, (const Bytef *)&h, sizeof h);
    crc = crc32_z(crc, (const Bytef *)buf, sizeof(double) * (size_t)h.n);
    if ((uint32_t)crc != stored) {
        snprintf(err, err_len, "'%s' fails its checksum (corrupt)", path);
        goto done;
    }
    *data = buf;
    *n = (long)h.n;
    buf = NULL;
    rc = 0;
done:
    free(buf);
    fclose(f);
    return rc;
}

int bl_text_write(const char *path, const char *text, char *err, size_t err_len)
{
    const void *parts[1] = {text};
    size_t sizes[1] = {strlen(text)};
    return atomic_write(path, parts, sizes, 1, err, err_len);
}

char *bl_text_read(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *s = bl_malloc(cap);
    size_t got;
    while ((got = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len - 1 == 0) {
            cap *= 2;
            char *bigger = realloc(s, cap);
            if (!bigger)
                bl_fatal(BL_EXIT_RUNTIME, "out of memory reading '%s'", path);
            s = bigger;
        }
    }
    s[len] = '\0';
    fclose(f);
    return s;
}
