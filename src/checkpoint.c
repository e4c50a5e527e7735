/* Atomic, checksummed files (see bl_checkpoint.h). Layout of a blob:
 * magic "BIASLAB1" (8 bytes), kind (uint32), format (uint32), n (int64),
 * n doubles, CRC-32 (uint32, zlib's) of everything before it. A file of
 * named arrays (kind BL_BLOB_TASK_STATE) has the same header with n the
 * number of arrays, then n entries {name (40 bytes, NUL-padded), length
 * (int64)}, then the arrays' doubles in that order, then the CRC-32. Native
 * byte order: checkpoints are read back on the machine type that wrote
 * them. Format 1 (before named arrays) had 0 where the format is. */
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
    uint32_t format;
    int64_t n;
};

struct array_entry {
    char name[40];
    int64_t length;
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

/* The first step of an atomic write: the parts into a new temporary beside
 * path (p->tmp), left open and not yet flushed. Returns 0, or 1 with err
 * set and nothing left behind. */
static int write_temporary(const char *path, const void *const *parts, const size_t *sizes,
                           int n_parts, struct bl_pending_blob *p, char *err, size_t err_len)
{
    snprintf(p->path, sizeof p->path, "%s", path);
    snprintf(p->tmp, sizeof p->tmp, "%s.tmp.%ld", path, (long)getpid());
    p->fd = open(p->tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (p->fd < 0) {
        snprintf(err, err_len, "cannot create '%s' (for '%s'): %s", p->tmp, path,
                 strerror(errno));
        return 1;
    }
    for (int i = 0; i < n_parts; i++)
        if (write_all(p->fd, parts[i], sizes[i]) != 0) {
            snprintf(err, err_len, "cannot write '%s' (for '%s'): %s", p->tmp, path,
                     strerror(errno));
            close(p->fd);
            unlink(p->tmp);
            return 1;
        }
    return 0;
}

void bl_blobs_discard(struct bl_pending_blob *p, int count)
{
    for (int i = 0; i < count; i++) {
        close(p[i].fd);
        unlink(p[i].tmp);
    }
}

int bl_blobs_commit(struct bl_pending_blob *p, int count, char *err, size_t err_len)
{
    /* One syncfs writes every file of the batch in one journal commit, where
     * an fsync per file commits once per file (1.4-8 ms each here); the
     * fsyncs after it find the data written and return at once, and report
     * a failed write (a full disk) per file, naming it. */
    if (count > 1)
        syncfs(p[0].fd);
    for (int i = 0; i < count; i++) {
        if (fsync(p[i].fd) != 0 || close(p[i].fd) != 0) {
            snprintf(err, err_len, "cannot flush '%s' (for '%s') to disk: %s", p[i].tmp,
                     p[i].path, strerror(errno));
            for (int j = 0; j <= i; j++)
                unlink(p[j].tmp);
            bl_blobs_discard(p + i + 1, count - i - 1);
            return 1;
        }
        p[i].fd = -1;
    }
    /* renamed only once all are on disk: after a crash each file is either
     * whole under its name or absent */
    for (int i = 0; i < count; i++)
        if (rename(p[i].tmp, p[i].path) != 0) {
            snprintf(err, err_len, "cannot rename '%s' to '%s': %s", p[i].tmp, p[i].path,
                     strerror(errno));
            for (int j = i; j < count; j++)
                unlink(p[j].tmp);
            return 1;
        }
    return 0;
}

/* tmp file -> fsync -> rename: after a crash either the old file or the new
 * one is there, never a mixture. */
static int atomic_write(const char *path, const void *const *parts, const size_t *sizes,
                        int n_parts, char *err, size_t err_len)
{
    struct bl_pending_blob p;
    if (write_temporary(path, parts, sizes, n_parts, &p, err, err_len))
        return 1;
    return bl_blobs_commit(&p, 1, err, err_len);
}

int bl_blob_write_pending(const char *path, enum bl_blob_kind kind, const double *data, long n,
                          struct bl_pending_blob *pending, char *err, size_t err_len)
{
    struct blob_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, blob_magic, sizeof h.magic);
    h.kind = (uint32_t)kind;
    h.format = BL_CHECKPOINT_FORMAT;
    h.n = n;
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, (const Bytef *)&h, sizeof h);
    crc = crc32_z(crc, (const Bytef *)data, sizeof(double) * (size_t)n);
    uint32_t crc32_value = (uint32_t)crc;
    const void *parts[3] = {&h, data, &crc32_value};
    size_t sizes[3] = {sizeof h, sizeof(double) * (size_t)n, sizeof crc32_value};
    return write_temporary(path, parts, sizes, 3, pending, err, err_len);
}

int bl_blob_write(const char *path, enum bl_blob_kind kind, const double *data, long n,
                  char *err, size_t err_len)
{
    struct bl_pending_blob p;
    if (bl_blob_write_pending(path, kind, data, n, &p, err, err_len))
        return 1;
    return bl_blobs_commit(&p, 1, err, err_len);
}

/* Read and check a header: 0, or 2 with err set. */
static int read_header(FILE *f, const char *path, enum bl_blob_kind kind, struct blob_header *h,
                       char *err, size_t err_len)
{
    if (fread(h, sizeof *h, 1, f) != 1 || memcmp(h->magic, blob_magic, sizeof h->magic) != 0) {
        snprintf(err, err_len, "'%s' is not a biaslab checkpoint (bad header)", path);
        return 2;
    }
    if (h->format != BL_CHECKPOINT_FORMAT) {
        snprintf(err, err_len,
                 "'%s' is in checkpoint format %u, written by %s biaslab; this one reads "
                 "format %d. Finish that run with the biaslab that started it, or pass "
                 "--force to discard its saved state and start over",
                 path, h->format ? h->format : 1, h->format < BL_CHECKPOINT_FORMAT ? "an older" : "a newer",
                 BL_CHECKPOINT_FORMAT);
        return 2;
    }
    if (h->kind != (uint32_t)kind) {
        snprintf(err, err_len, "'%s' holds data of kind %u, expected %u", path, h->kind,
                 (unsigned)kind);
        return 2;
    }
    return 0;
}

/* path opened for reading; NULL with *rc 1 (no such file) or 2 (err set). */
static FILE *open_to_read(const char *path, int *rc, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        *rc = errno == ENOENT ? 1 : 2;
        if (*rc == 2)
            snprintf(err, err_len, "cannot open '%s': %s", path, strerror(errno));
    }
    return f;
}

int bl_blob_read(const char *path, enum bl_blob_kind kind, double **data, long *n, char *err,
                 size_t err_len)
{
    *data = NULL;
    *n = 0;
    int open_rc;
    FILE *f = open_to_read(path, &open_rc, err, err_len);
    if (!f)
        return open_rc;
    struct blob_header h;
    int rc = 2;
    double *buf = NULL;
    if (read_header(f, path, kind, &h, err, err_len))
        goto done;
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

int bl_arrays_write(const char *path, const struct bl_named_array *arrays, int n, char *err,
                    size_t err_len)
{
    struct blob_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, blob_magic, sizeof h.magic);
    h.kind = BL_BLOB_TASK_STATE;
    h.format = BL_CHECKPOINT_FORMAT;
    h.n = n;
    struct array_entry *entries = bl_calloc((size_t)n + 1, sizeof *entries);
    const void **parts = bl_malloc(sizeof(void *) * ((size_t)n + 3));
    size_t *sizes = bl_malloc(sizeof(size_t) * ((size_t)n + 3));
    parts[0] = &h, sizes[0] = sizeof h;
    parts[1] = entries, sizes[1] = sizeof *entries * (size_t)n;
    uLong crc = crc32(0L, Z_NULL, 0);
    for (int i = 0; i < n; i++) {
        snprintf(entries[i].name, sizeof entries[i].name, "%s", arrays[i].name);
        entries[i].length = arrays[i].length;
        parts[2 + i] = arrays[i].data;
        sizes[2 + i] = sizeof(double) * (size_t)arrays[i].length;
    }
    for (int i = 0; i < n + 2; i++)
        crc = crc32_z(crc, (const Bytef *)parts[i], sizes[i]);
    uint32_t crc32_value = (uint32_t)crc;
    parts[n + 2] = &crc32_value, sizes[n + 2] = sizeof crc32_value;
    int rc = atomic_write(path, parts, sizes, n + 3, err, err_len);
    free(entries);
    free(parts);
    free(sizes);
    return rc;
}

/* The entries and data of a file of named arrays: 0, 1 (no file) or 2. */
static int load_arrays(const char *path, struct array_entry **entries_out, int64_t *n_out,
                       double **data_out, char *err, size_t err_len)
{
    int open_rc;
    FILE *f = open_to_read(path, &open_rc, err, err_len);
    if (!f)
        return open_rc;
    struct blob_header h;
    struct array_entry *entries = NULL;
    double *buf = NULL;
    int rc = 2;
    if (read_header(f, path, BL_BLOB_TASK_STATE, &h, err, err_len))
        goto done;
    if (h.n < 0 || h.n > 4096) {
        snprintf(err, err_len, "'%s' claims %lld arrays", path, (long long)h.n);
        goto done;
    }
    entries = bl_calloc((size_t)h.n + 1, sizeof *entries);
    if (fread(entries, sizeof *entries, (size_t)h.n, f) != (size_t)h.n) {
        snprintf(err, err_len, "'%s' is truncated", path);
        goto done;
    }
    int64_t total = 0;
    for (int64_t i = 0; i < h.n; i++) {
        entries[i].name[sizeof entries[i].name - 1] = '\0';
        if (entries[i].length < 0 || entries[i].length > (int64_t)1 << 40) {
            snprintf(err, err_len, "'%s': array '%s' claims %lld values", path, entries[i].name,
                     (long long)entries[i].length);
            goto done;
        }
        total += entries[i].length;
    }
    buf = bl_malloc(sizeof(double) * (size_t)(total + 1));
    uint32_t stored;
    if (fread(buf, sizeof(double), (size_t)total, f) != (size_t)total ||
        fread(&stored, sizeof stored, 1, f) != 1) {
        snprintf(err, err_len, "'%s' is truncated", path);
        goto done;
    }
    uLong crc = crc32(0L, Z_NULL, 0);
    crc = crc32(crc, (const Bytef *)&h, sizeof h);
    crc = crc32_z(crc, (const Bytef *)entries, sizeof *entries * (size_t)h.n);
    crc = crc32_z(crc, (const Bytef *)buf, sizeof(double) * (size_t)total);
    if ((uint32_t)crc != stored) {
        snprintf(err, err_len, "'%s' fails its checksum (corrupt)", path);
        goto done;
    }
    *entries_out = entries, *n_out = h.n, *data_out = buf;
    entries = NULL, buf = NULL;
    rc = 0;
done:
    free(entries);
    free(buf);
    fclose(f);
    return rc;
}

int bl_arrays_read(const char *path, const struct bl_named_array *arrays, int n, char *err,
                   size_t err_len)
{
    struct array_entry *entries;
    int64_t count;
    double *buf;
    int rc = load_arrays(path, &entries, &count, &buf, err, err_len);
    if (rc)
        return rc;
    /* every wanted array, by name, with exactly its length */
    for (int k = 0; k < n && rc == 0; k++) {
        int64_t at = 0, found = -1;
        for (int64_t i = 0; i < count; i++) {
            if (!strcmp(entries[i].name, arrays[k].name)) {
                found = i;
                break;
            }
            at += entries[i].length;
        }
        if (found < 0 || entries[found].length != arrays[k].length) {
            snprintf(err, err_len,
                     "checkpoint '%s' does not match this task: array '%s' %s (it was saved "
                     "for another model, optimizer or record plan)",
                     path, arrays[k].name, found < 0 ? "is missing" : "has another length");
            rc = 2;
        } else {
            memcpy(arrays[k].data, buf + at, sizeof(double) * (size_t)arrays[k].length);
        }
    }
    free(entries);
    free(buf);
    return rc;
}

int bl_arrays_read_all(const char *path, struct bl_array_set *out, char *err, size_t err_len)
{
    struct array_entry *entries;
    int64_t count;
    double *buf;
    memset(out, 0, sizeof *out);
    int rc = load_arrays(path, &entries, &count, &buf, err, err_len);
    if (rc)
        return rc;
    out->n = (int)count;
    out->arrays = bl_calloc((size_t)count + 1, sizeof *out->arrays);
    long at = 0;
    for (int i = 0; i < out->n; i++) {
        char *name = bl_malloc(sizeof entries[i].name);
        memcpy(name, entries[i].name, sizeof entries[i].name);
        double *data = bl_malloc(sizeof(double) * (size_t)(entries[i].length + 1));
        memcpy(data, buf + at, sizeof(double) * (size_t)entries[i].length);
        at += entries[i].length;
        out->arrays[i] = (struct bl_named_array){name, data, entries[i].length};
    }
    free(entries);
    free(buf);
    return 0;
}

void bl_arrays_free(struct bl_array_set *set)
{
    for (int i = 0; i < set->n; i++) {
        free((char *)set->arrays[i].name);
        free(set->arrays[i].data);
    }
    free(set->arrays);
    memset(set, 0, sizeof *set);
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
