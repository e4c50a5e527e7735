/* Files that survive a kill at any moment: each is written under a
 * temporary name, flushed to disk and renamed into place, and carries a
 * CRC-32 of its contents, so a reader sees a whole file or none and can tell
 * a torn or corrupt one. Used for task checkpoints and finished results. */
#ifndef BL_CHECKPOINT_H
#define BL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

enum bl_blob_kind { BL_BLOB_TASK_STATE = 1, BL_BLOB_RESULT = 2 };

/* The format every file here is written in; a file of another format is
 * refused with a message saying so (format 1: before named arrays). */
#define BL_CHECKPOINT_FORMAT 2

/* Write data (n) to path atomically. Returns 0, or non-zero with err set. */
int bl_blob_write(const char *path, enum bl_blob_kind kind, const double *data, long n,
                  char *err, size_t err_len);

/* A blob written under its temporary name, not yet flushed or renamed:
 * many of them are made durable by one bl_blobs_commit (finished tasks,
 * batched). */
struct bl_pending_blob {
    int fd;
    char path[4096], tmp[4160];
};

/* bl_blob_write's first half: data (n) into path's temporary, left open in
 * *pending. Returns 0, or non-zero with err set and nothing left behind. */
int bl_blob_write_pending(const char *path, enum bl_blob_kind kind, const double *data, long n,
                          struct bl_pending_blob *pending, char *err, size_t err_len);

/* Flush p[0..count-1] to disk together, then rename each into place.
 * Returns 0, or non-zero with err naming the first file that failed (the
 * temporaries are then removed, nothing renamed after it). */
int bl_blobs_commit(struct bl_pending_blob *p, int count, char *err, size_t err_len);

/* Close and remove pending temporaries (nothing becomes durable). */
void bl_blobs_discard(struct bl_pending_blob *p, int count);

/* Read a blob of this kind: *data is malloc'd (n doubles). Returns 0 on
 * success, 1 when the file does not exist, 2 when it is corrupt or of
 * another kind (err says which). */
int bl_blob_read(const char *path, enum bl_blob_kind kind, double **data, long *n, char *err,
                 size_t err_len);

/* A named array of doubles, e.g. {"theta", theta, P}. */
struct bl_named_array {
    const char *name; /* at most 39 characters */
    double *data;
    long length;
};

/* Write any number of named arrays to path atomically, with a checksum. */
int bl_arrays_write(const char *path, const struct bl_named_array *arrays, int n, char *err,
                    size_t err_len);

/* Fill each of arrays[0..n) from the array of the same name in path, which
 * must be there with exactly that length. Returns 0, 1 when the file does
 * not exist, 2 when it is corrupt, of another format, or does not match
 * (err says which). */
int bl_arrays_read(const char *path, const struct bl_named_array *arrays, int n, char *err,
                   size_t err_len);

/* Every array of a file of named arrays, malloc'd (free with
 * bl_arrays_free); for tools and tests that look inside a checkpoint. */
struct bl_array_set {
    int n;
    struct bl_named_array *arrays; /* names and data malloc'd */
};
int bl_arrays_read_all(const char *path, struct bl_array_set *out, char *err, size_t err_len);
void bl_arrays_free(struct bl_array_set *set);

/* Write text to path atomically (no checksum: for a human-readable file). */
int bl_text_write(const char *path, const char *text, char *err, size_t err_len);

/* The whole file as a malloc'd string, or NULL when it cannot be read. */
char *bl_text_read(const char *path);

#endif
