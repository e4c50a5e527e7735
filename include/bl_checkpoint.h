/* Files that survive a kill at any moment: each is written under a
 * temporary name, flushed to disk and renamed into place, and carries a
 * CRC-32 of its contents, so a reader sees a whole file or none and can tell
 * a torn or corrupt one. Used for task checkpoints and finished results. */
#ifndef BL_CHECKPOINT_H
#define BL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

enum bl_blob_kind { BL_BLOB_TASK_STATE = 1, BL_BLOB_RESULT = 2 };

/* Write data (n) to path atomically. Returns 0, or non-zero with err set. */
int bl_blob_write(const char *path, enum bl_blob_kind kind, const double *data, long n,
                  char *err, size_t err_len);

/* Read a blob of this kind: *data is malloc'd (n doubles). Returns 0 on
 * success, 1 when the file does not exist, 2 when it is corrupt or of
 * another kind (err says which). */
int bl_blob_read(const char *path, enum bl_blob_kind kind, double **data, long *n, char *err,
                 size_t err_len);

/* Write text to path atomically (no checksum: for a human-readable file). */
int bl_text_write(const char *path, const char *text, char *err, size_t err_len);

/* The whole file as a malloc'd string, or NULL when it cannot be read. */
char *bl_text_read(const char *path);

#endif
