/* Data sets read from files: IDX (the MNIST family, gzip-compressed or
 * plain) and a user's NetCDF file; feature standardization. Every loader
 * returns 0, or non-zero with err naming the file and what is wrong; on
 * error *out is left zeroed, so bl_dataset_release on it is harmless. */
#ifndef BL_DATAFILE_H
#define BL_DATAFILE_H

#include <stddef.h>

#include "bl_data.h"

/* The most values (n * dim) a loaded set may hold. bl_dataset counts in
 * int and callers index rows as i * dim in int, so the product must fit. */
#define BL_DATAFILE_MAX_ELEMENTS 2147483647L

/* Load images (n, rows * cols) scaled to [0, 1] and labels (n) from an IDX
 * pair (magic 0x00000803 for images, 0x00000801 for labels).
 * keep[0..n_keep-1]: the classes to keep, relabelled 0..n_keep-1 in that
 * order; n_keep = 0 keeps every class as it is, and then the labels must be
 * 0..K-1 with every class present. max_examples: keep at most this many of
 * the selected examples, in file order (0 = all); reading stops after the
 * last one kept. */
int bl_idx_load(const char *images_path, const char *labels_path, const int *keep,
                int n_keep, long max_examples, struct bl_dataset *out, char *err,
                size_t err_len);

/* Per feature, subtract the training mean and divide by the training
 * (population) standard deviation; a feature constant on train is only
 * centred. test, if not NULL, is transformed with the training statistics. */
void bl_dataset_standardize(struct bl_dataset *train, struct bl_dataset *test);

/* Load x_name (sample, feature), any numeric type read as double, and
 * y_name (sample), integer-valued class labels 0..K-1 with every class
 * present; K is the global attribute "classes" if present, else the largest
 * label + 1. Without the attribute, labels that are exactly -1 and +1 are
 * read as classes 0 and 1. */
int bl_netcdf_dataset_load(const char *path, const char *x_name, const char *y_name,
                           struct bl_dataset *out, char *err, size_t err_len);

/* Load the training set from x/y as above and, when the file has x_test,
 * the test set from x_test (test_sample, feature) / y_test (test_sample),
 * whose labels must be classes of the training set (read as -1/+1 when the
 * training labels are); otherwise test is zeroed (test->n == 0). Real
 * targets `target` (and `target_test`) instead of y load a regression set.
 * note (may be NULL) receives what the user should be told once, e.g. that
 * -1/+1 labels were read as classes 0/1, or "". */
int bl_netcdf_data_load(const char *path, struct bl_dataset *train, struct bl_dataset *test,
                        char *note, size_t note_len, char *err, size_t err_len);

/* Free a set's arrays and zero it. */
void bl_dataset_release(struct bl_dataset *s);

#endif
