/* Data sets from files. IDX goes through zlib's gz* calls, which read gzip
 * and plain files alike; NetCDF through libnetcdf. Loaders never exit on bad
 * input: they return a message naming the file and the problem, and free
 * everything they allocated. (Out of memory still dies in bl_malloc.) */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netcdf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "bl_datafile.h"
#include "bl_log.h"

void bl_dataset_release(struct bl_dataset *s)
{
    free(s->x);
    free(s->index);
    free(s->label);
    free(s->target);
    memset(s, 0, sizeof *s);
}

/* One open IDX file and what its header promises. */
struct idx_file {
    gzFile gz;
    const char *path;
    int ndims;
    uint32_t sizes[3];
    unsigned long long data_bytes; /* product of dims: one byte per value */
    unsigned long long data_read;  /* data bytes read so far */
};

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Read up to len bytes, fewer only at the end of the data or on an error
 * (gzerror tells which). gzread takes an unsigned count, hence the chunks. */
static size_t gz_read_full(gzFile gz, unsigned char *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done < (1u << 30) ? len - done : (1u << 30);
        int got = gzread(gz, buf + done, (unsigned)chunk);
        if (got <= 0)
            break;
        done += (size_t)got;
    }
    return done;
}

/* Read up to len bytes into a new buffer (*out, caller frees) that grows
 * with the data actually read, so that a header promising gigabytes costs
 * memory only if the file really holds them. Returns the bytes read; fewer
 * than len as for gz_read_full. */
static size_t gz_read_grow(gzFile gz, unsigned char **out, size_t len)
{
    unsigned char *buf = NULL;
    size_t cap = 0, done = 0;
    while (done < len) {
        if (done == cap) {
            size_t grown = cap < ((size_t)1 << 16) ? (size_t)1 << 16 : 2 * cap;
            cap = grown < len ? grown : len;
            unsigned char *bigger = bl_malloc(cap);
            if (done > 0)
                memcpy(bigger, buf, done);
            free(buf);
            buf = bigger;
        }
        size_t got = gz_read_full(gz, buf + done, cap - done);
        done += got;
        if (done < cap)
            break;
    }
    *out = buf;
    return done;
}

/* zlib's message for the last error, without the "path: " it puts first. */
static const char *gz_reason(const struct idx_file *f, int *code)
{
    const char *msg = gzerror(f->gz, code);
    size_t len = strlen(f->path);
    if (strncmp(msg, f->path, len) == 0 && strncmp(msg + len, ": ", 2) == 0)
        msg += len + 2;
    return *code == Z_ERRNO ? strerror(errno) : msg;
}

/* Explain why a read of `section` stopped at `found` of `promised` bytes.
 * zlib reports a gzip stream that ends early as Z_BUF_ERROR, a plain file
 * that ends early as no error at all. It inflates ahead into its buffer, so
 * a corrupt stream can show up before the bytes we asked for. */
static void short_read_error(const struct idx_file *f, const char *section,
                             unsigned long long promised, unsigned long long found,
                             char *err, size_t err_len)
{
    int code;
    const char *why = gz_reason(f, &code);
    if (code == Z_OK || code == Z_BUF_ERROR)
        snprintf(err, err_len, "%s: truncated%s: expected %llu bytes of %s, found %llu",
                 f->path, code == Z_BUF_ERROR ? " gzip stream" : " file", promised, section,
                 found);
    else if (code == Z_ERRNO)
        snprintf(err, err_len, "%s: read error in the %s: %s", f->path, section, why);
    else
        snprintf(err, err_len, "%s: corrupt gzip data (%s), found while reading the %s",
                 f->path, why, section);
}

static const char *idx_type_name(int code)
{
    switch (code) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return NULL;
    }
}

static void idx_close(struct idx_file *f)
{
    if (f->gz != NULL)
        gzclose(f->gz);
    f->gz = NULL;
}

/* Open path and read an IDX header of unsigned bytes with want_dims
 * dimensions (3: count, rows, cols; 1: count). */
static int idx_open(struct idx_file *f, const char *path, int want_dims, char *err,
                    size_t err_len)
{
    const char *kind = want_dims == 3 ? "images" : "labels";
    uint32_t want_magic = 0x00000800u | (uint32_t)want_dims;
    memset(f, 0, sizeof *f);
    f->path = path;
    errno = 0;
    f->gz = gzopen(path, "rb");
    if (f->gz == NULL) {
        snprintf(err, err_len, "%s: cannot open the %s file: %s", path, kind,
                 errno != 0 ? strerror(errno) : "out of memory");
        return 1;
    }
    /* Fewer read() calls on a 26 MB file; the default is 8 kB. */
    gzbuffer(f->gz, 1u << 17);

    unsigned char head[4 + 4 * 3];
    size_t got = gz_read_full(f->gz, head, 4);
    if (got < 4) {
        short_read_error(f, "IDX header", 4, got, err, err_len);
        goto fail;
    }
    uint32_t magic = be32(head);
    if (head[0] != 0 || head[1] != 0 || idx_type_name(head[2]) == NULL) {
        /* gzdirect: zlib found no gzip header and is passing bytes through. */
        snprintf(err, err_len,
                 "%s: %s: bad magic 0x%08x, expected 0x%08x (IDX %s, unsigned bytes, "
                 "%d dimension%s)",
                 path, gzdirect(f->gz) ? "neither gzip nor IDX" : "gzip content is not IDX",
                 magic, want_magic, kind, want_dims, want_dims == 1 ? "" : "s");
        goto fail;
    }
    if (head[2] != 0x08) {
        snprintf(err, err_len,
                 "%s: IDX values of type %s are not supported: magic 0x%08x, expected "
                 "0x%08x (unsigned bytes)",
                 path, idx_type_name(head[2]), magic, want_magic);
        goto fail;
    }
    if (head[3] != want_dims) {
        const char *hint = "";
        if (want_dims == 3 && head[3] == 1)
            hint = "; is it a labels file?";
        else if (want_dims == 1 && head[3] == 3)
            hint = "; is it an images file?";
        snprintf(err, err_len,
                 "%s: wrong dimension count for an IDX %s file: %d, expected %d "
                 "(magic 0x%08x, expected 0x%08x)%s",
                 path, kind, head[3], want_dims, magic, want_magic, hint);
        goto fail;
    }
    f->ndims = want_dims;
    got = gz_read_full(f->gz, head + 4, 4 * (size_t)want_dims);
    if (got < 4 * (size_t)want_dims) {
        short_read_error(f, "IDX header", 4 + 4 * (unsigned long long)want_dims, 4 + got, err,
                         err_len);
        goto fail;
    }
    /* Multiply step by step so that an absurd header is refused before the
     * product can wrap or a huge buffer is asked for. */
    unsigned long long product = 1;
    double product_estimate = 1;
    int too_large = 0;
    for (int d = 0; d < want_dims; d++) {
        f->sizes[d] = be32(head + 4 + 4 * d);
        product_estimate *= f->sizes[d];
        if (f->sizes[d] != 0 && product > (unsigned long long)BL_DATAFILE_MAX_ELEMENTS / f->sizes[d])
            too_large = 1;
        else
            product *= f->sizes[d];
    }
    if (too_large) {
        if (want_dims == 3)
            snprintf(err, err_len,
                     "%s: absurd dimensions %u x %u x %u in the header: %.3g values, more "
                     "than the %ld (2^31 - 1) a data set may hold",
                     path, f->sizes[0], f->sizes[1], f->sizes[2], product_estimate,
                     BL_DATAFILE_MAX_ELEMENTS);
        else
            snprintf(err, err_len,
                     "%s: absurd label count %u in the header: more than the %ld (2^31 - 1) "
                     "a data set may hold",
                     path, f->sizes[0], BL_DATAFILE_MAX_ELEMENTS);
        goto fail;
    }
    if (f->sizes[0] == 0) {
        snprintf(err, err_len, "%s: the header says the file holds no %s", path, kind);
        goto fail;
    }
    if (want_dims == 3 && (f->sizes[1] == 0 || f->sizes[2] == 0)) {
        snprintf(err, err_len, "%s: empty image size %u x %u in the header", path, f->sizes[1],
                 f->sizes[2]);
        goto fail;
    }
    f->data_bytes = product;
    return 0;
fail:
    idx_close(f);
    return 1;
}

/* After the last promised byte the file must end. Reading on also makes
 * zlib check the gzip trailer (CRC and length), which it only does at the
 * end of the stream. */
static int idx_expect_end(struct idx_file *f, const char *section, char *err, size_t err_len)
{
    unsigned char extra;
    int got = gzread(f->gz, &extra, 1);
    if (got == 1) {
        snprintf(err, err_len,
                 "%s: more data than the header promises (%llu bytes of %s); are the "
                 "dimensions in the header wrong?",
                 f->path, f->data_bytes, section);
        return 1;
    }
    int code;
    const char *why = gz_reason(f, &code);
    if (code == Z_BUF_ERROR) {
        snprintf(err, err_len,
                 "%s: truncated gzip stream: all %llu bytes of %s are there but the gzip "
                 "trailer is missing",
                 f->path, f->data_bytes, section);
        return 1;
    }
    if (code != Z_OK) {
        snprintf(err, err_len, "%s: corrupt gzip data (%s), found at the end of the %s",
                 f->path, why, section);
        return 1;
    }
    return 0;
}

int bl_idx_load(const char *images_path, const char *labels_path, const int *keep,
                int n_keep, long max_examples, struct bl_dataset *out, char *err,
                size_t err_len)
{
    struct idx_file img = {0}, lab = {0};
    unsigned char *labels = NULL; /* (n) as stored */
    unsigned char *pixels = NULL; /* (last + 1, rows * cols) the images read, as stored */
    int rc = 1;
    memset(out, 0, sizeof *out);

    if (n_keep < 0 || (n_keep > 0 && keep == NULL) || max_examples < 0) {
        snprintf(err, err_len, "%s: invalid class selection (n_keep %d) or max_examples %ld",
                 labels_path, n_keep, max_examples);
        return 1;
    }
    if (idx_open(&lab, labels_path, 1, err, err_len) != 0)
        goto done;
    if (idx_open(&img, images_path, 3, err, err_len) != 0)
        goto done;
    if (img.sizes[0] != lab.sizes[0]) {
        snprintf(err, err_len,
                 "image and label counts differ: %s holds %u images, %s holds %u labels",
                 images_path, img.sizes[0], labels_path, lab.sizes[0]);
        goto done;
    }
    long n = (long)lab.sizes[0];
    int dim = (int)(img.sizes[1] * img.sizes[2]);

    size_t got = gz_read_grow(lab.gz, &labels, (size_t)n);
    if (got < (size_t)n) {
        short_read_error(&lab, "labels", (unsigned long long)n, got, err, err_len);
        goto done;
    }
    if (idx_expect_end(&lab, "labels", err, err_len) != 0)
        goto done;

    long count[256] = {0};
    long first_at[256];
    int lo = 255, hi = 0;
    for (long i = n - 1; i >= 0; i--) {
        count[labels[i]]++;
        first_at[labels[i]] = i;
    }
    for (int c = 0; c < 256; c++) {
        if (count[c] > 0) {
            lo = c < lo ? c : lo;
            hi = c;
        }
    }

    /* map[stored label]: the label in out, or -1 to drop the example. */
    int map[256];
    for (int c = 0; c < 256; c++)
        map[c] = -1;
    if (n_keep == 0) {
        /* Classes are the labels themselves, so a gap would make empty
         * classes: almost always a corrupt file or a stray label. */
        int missing = 0, first_missing = -1;
        for (int c = 0; c <= hi; c++) {
            if (count[c] == 0) {
                missing++;
                first_missing = first_missing < 0 ? c : first_missing;
            }
        }
        if (missing > 0) {
            snprintf(err, err_len,
                     "%s: label %d out of range (first at example %ld): it leaves %d of the "
                     "classes 0..%d without examples (the first is %d); with every class "
                     "kept the labels must be 0..K-1 with no gaps, or select classes with keep",
                     labels_path, hi, first_at[hi], missing, hi, first_missing);
            goto done;
        }
        for (int c = 0; c <= hi; c++)
            map[c] = c;
        out->classes = hi + 1;
    } else {
        for (int k = 0; k < n_keep; k++) {
            int c = keep[k];
            if (c < lo || c > hi || count[c] == 0) {
                snprintf(err, err_len,
                         "%s: class %d in keep %s (the labels in the file are %d..%d)",
                         labels_path, c,
                         c < lo || c > hi ? "is out of range" : "has no examples", lo, hi);
                goto done;
            }
            if (map[c] >= 0) {
                snprintf(err, err_len, "%s: class %d appears twice in keep", labels_path, c);
                goto done;
            }
            map[c] = k;
        }
        out->classes = n_keep;
    }

    /* Count the examples kept and find the last one, where reading stops. */
    long n_out = 0, last = -1;
    for (long i = 0; i < n && (max_examples == 0 || n_out < max_examples); i++) {
        if (map[labels[i]] >= 0) {
            n_out++;
            last = i;
        }
    }
    /* Read the images up to the last one kept before allocating the
     * doubles: memory follows the data present, not the header's promise. */
    size_t want = (size_t)(last + 1) * (size_t)dim;
    got = gz_read_grow(img.gz, &pixels, want);
    img.data_read = got;
    if (got < want) {
        short_read_error(&img, "pixel data", img.data_bytes, got, err, err_len);
        goto done;
    }
    out->n = (int)n_out;
    out->dim = dim;
    out->x = bl_malloc(sizeof(double) * (size_t)n_out * (size_t)dim);
    out->label = bl_malloc(sizeof(int) * (size_t)n_out);

    /* Exact byte / 255, without a division per pixel. */
    double scale[256];
    for (int b = 0; b < 256; b++)
        scale[b] = b / 255.0;
    long k = 0;
    for (long i = 0; i <= last; i++) {
        if (map[labels[i]] < 0)
            continue;
        const unsigned char *row = pixels + (size_t)i * (size_t)dim;
        double *x = out->x + (size_t)k * (size_t)dim;
        for (int j = 0; j < dim; j++)
            x[j] = scale[row[j]];
        out->label[k] = map[labels[i]];
        k++;
    }
    /* Stopping early for max_examples leaves the rest unread and unchecked. */
    if (last == n - 1 && idx_expect_end(&img, "pixel data", err, err_len) != 0)
        goto done;
    rc = 0;
done:
    idx_close(&img);
    idx_close(&lab);
    free(labels);
    free(pixels);
    if (rc != 0)
        bl_dataset_release(out);
    return rc;
}

void bl_dataset_standardize(struct bl_dataset *train, struct bl_dataset *test)
{
    int n = train->n, dim = train->dim;
    if (test != NULL && test->n > 0 && test->dim != dim)
        bl_fatal_at(__FILE__, __LINE__, "standardize: the test set has %d features, train %d",
                    test->dim, dim);
    if (n == 0)
        return;
    double *mean = bl_calloc((size_t)dim, sizeof(double)); /* (dim) */
    double *sd = bl_calloc((size_t)dim, sizeof(double));   /* (dim) */
    char *varies = bl_calloc((size_t)dim, 1);              /* (dim) */
    const double *first = train->x;
    for (int i = 0; i < n; i++) {
        const double *x = train->x + (size_t)i * (size_t)dim;
        for (int j = 0; j < dim; j++) {
            mean[j] += x[j];
            varies[j] |= x[j] != first[j];
        }
    }
    for (int j = 0; j < dim; j++) {
        /* A constant feature's rounded sum / n need not equal the constant;
         * take the value itself so the feature becomes exactly 0. */
        mean[j] = varies[j] ? mean[j] / n : first[j];
    }
    /* Two passes: the one-pass formula loses digits when mean >> sd. */
    for (int i = 0; i < n; i++) {
        const double *x = train->x + (size_t)i * (size_t)dim;
        for (int j = 0; j < dim; j++)
            sd[j] += (x[j] - mean[j]) * (x[j] - mean[j]);
    }
    for (int j = 0; j < dim; j++) {
        sd[j] = sqrt(sd[j] / n);
        if (!varies[j] || !(sd[j] > 0))
            sd[j] = 1;
    }
    struct bl_dataset *sets[2] = {train, test};
    for (int s = 0; s < 2; s++) {
        if (sets[s] == NULL)
            continue;
        for (int i = 0; i < sets[s]->n; i++) {
            double *x = sets[s]->x + (size_t)i * (size_t)dim;
            for (int j = 0; j < dim; j++)
                x[j] = (x[j] - mean[j]) / sd[j];
        }
    }
    free(mean);
    free(sd);
    free(varies);
}

static int nc_numeric(nc_type t)
{
    return t == NC_BYTE || t == NC_SHORT || t == NC_INT || t == NC_FLOAT || t == NC_DOUBLE ||
           t == NC_UBYTE || t == NC_USHORT || t == NC_UINT || t == NC_INT64 || t == NC_UINT64;
}

/* "a, b, c": the file's variables, for a message about a missing one. */
static void list_variables(int ncid, char *buf, size_t len)
{
    int nvars = 0;
    size_t used = 0;
    snprintf(buf, len, "no variables");
    if (nc_inq_nvars(ncid, &nvars) != NC_NOERR)
        return;
    for (int v = 0; v < nvars; v++) {
        char name[NC_MAX_NAME + 1];
        if (nc_inq_varname(ncid, v, name) != NC_NOERR)
            continue;
        int w = snprintf(buf + used, len - used, "%s%s", used > 0 ? ", " : "", name);
        if (w < 0 || (size_t)w >= len - used)
            return; /* snprintf has already cut the list to fit */
        used += (size_t)w;
    }
}

/* A numeric variable of the given rank: its id, type and dimensions. */
struct nc_var {
    int id;
    nc_type type;
    size_t len[2];
    char dim_name[2][NC_MAX_NAME + 1];
};

static int find_var(int ncid, const char *path, const char *name, int want_rank,
                    const char *shape, struct nc_var *v, char *err, size_t err_len)
{
    int rc = nc_inq_varid(ncid, name, &v->id);
    if (rc == NC_ENOTVAR) {
        char list[512];
        list_variables(ncid, list, sizeof list);
        snprintf(err, err_len, "%s: missing variable '%s'; the file has: %s", path, name, list);
        return 1;
    }
    int rank, dimids[NC_MAX_VAR_DIMS];
    if (rc == NC_NOERR)
        rc = nc_inq_var(ncid, v->id, NULL, &v->type, &rank, dimids, NULL);
    if (rc != NC_NOERR) {
        snprintf(err, err_len, "%s: cannot inspect variable '%s': %s", path, name,
                 nc_strerror(rc));
        return 1;
    }
    if (!nc_numeric(v->type)) {
        snprintf(err, err_len, "%s: variable '%s' holds %s, expected numbers", path, name,
                 v->type == NC_CHAR     ? "characters"
                 : v->type == NC_STRING ? "strings"
                                        : "a user-defined type");
        return 1;
    }
    if (rank != want_rank) {
        snprintf(err, err_len, "%s: variable '%s' has rank %d, expected %d: %s%s", path, name,
                 rank, want_rank, name, shape);
        return 1;
    }
    for (int d = 0; d < rank; d++) {
        rc = nc_inq_dim(ncid, dimids[d], v->dim_name[d], &v->len[d]);
        if (rc != NC_NOERR) {
            snprintf(err, err_len, "%s: cannot inspect the dimensions of '%s': %s", path, name,
                     nc_strerror(rc));
            return 1;
        }
    }
    return 0;
}

/* The value that marks missing data in var: its _FillValue attribute, or
 * for float types the library default, which unwritten values hold. Integer
 * defaults are left out: -127 is an ordinary byte. */
static int fill_value(int ncid, const struct nc_var *v, double *fill)
{
    nc_type type;
    size_t len;
    if (nc_inq_att(ncid, v->id, "_FillValue", &type, &len) == NC_NOERR && len == 1 &&
        nc_numeric(type))
        return nc_get_att_double(ncid, v->id, "_FillValue", fill) == NC_NOERR;
    if (v->type == NC_DOUBLE) {
        *fill = NC_FILL_DOUBLE;
        return 1;
    }
    if (v->type == NC_FLOAT) {
        *fill = (double)NC_FILL_FLOAT;
        return 1;
    }
    return 0;
}

/* The classic formats (CDF-1, 2 and 5) store every value uncompressed, so a
 * variable cannot hold more bytes than the file has. libnetcdf does not
 * check this: a record count in the header that runs past the end of the
 * file reads as zeros, so a few hundred corrupt bytes would load as a data
 * set of millions of examples (and gigabytes). NetCDF-4 files compress and
 * leave unwritten chunks to the fill value, so no such bound applies. */
static int check_classic_size(int ncid, const char *path, const char *name,
                              const struct nc_var *v, size_t values, char *err, size_t err_len)
{
    int format;
    size_t type_size;
    struct stat st;
    if (nc_inq_format(ncid, &format) != NC_NOERR ||
        (format != NC_FORMAT_CLASSIC && format != NC_FORMAT_64BIT_OFFSET &&
         format != NC_FORMAT_CDF5) ||
        nc_inq_type(ncid, v->type, NULL, &type_size) != NC_NOERR || type_size == 0 ||
        stat(path, &st) != 0)
        return 0;
    if (values > (size_t)st.st_size / type_size) {
        snprintf(err, err_len,
                 "%s: '%s' has %zu values (%zu bytes) but the file is only %lld bytes long: "
                 "the file is truncated or its header is corrupt",
                 path, name, values, values * type_size, (long long)st.st_size);
        return 1;
    }
    return 0;
}

/* Read x (n, dim) into out->x, refusing values that are not finite or are
 * the fill value (missing data). Returns 0, or 1 with err set. */
static int load_x(int ncid, const char *path, const char *x_name, const struct nc_var *xv,
                  struct bl_dataset *out, char *err, size_t err_len)
{
    size_t n = xv->len[0], dim = xv->len[1];
    if (check_classic_size(ncid, path, x_name, xv, n * dim, err, err_len) != 0)
        return 1;
    out->x = bl_malloc(sizeof(double) * n * dim);
    int nrc = nc_get_var_double(ncid, xv->id, out->x);
    if (nrc != NC_NOERR) {
        snprintf(err, err_len, "%s: cannot read '%s': %s", path, x_name, nc_strerror(nrc));
        return 1;
    }
    double fill;
    int has_fill = fill_value(ncid, xv, &fill);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < dim; j++) {
            double v = out->x[i * dim + j];
            if (!isfinite(v)) {
                snprintf(err, err_len,
                         "%s: '%s' holds %s at sample %zu, feature %zu; the features must be "
                         "finite",
                         path, x_name, isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf", i, j);
                return 1;
            }
            if (has_fill && v == fill) {
                snprintf(err, err_len,
                         "%s: '%s' holds the fill value %g (missing data) at sample %zu, "
                         "feature %zu",
                         path, x_name, fill, i, j);
                return 1;
            }
        }
    }
    out->n = (int)n;
    out->dim = (int)dim;
    return 0;
}

/* x's shape checks shared by labels and targets: its samples match the
 * answers' and it is neither empty nor too large. */
static int check_x_shape(const char *path, const char *x_name, const struct nc_var *xv,
                         const char *y_name, const struct nc_var *yv, const char *what,
                         char *err, size_t err_len)
{
    size_t n = xv->len[0], dim = xv->len[1];
    if (yv->len[0] != n) {
        snprintf(err, err_len,
                 "%s: dimension mismatch: '%s' has %zu samples (dimension '%s') but '%s' has "
                 "%zu %s (dimension '%s')",
                 path, x_name, n, xv->dim_name[0], y_name, yv->len[0], what, yv->dim_name[0]);
        return 1;
    }
    if (n == 0 || dim == 0) {
        snprintf(err, err_len, "%s: '%s' is empty: %zu samples x %zu features", path, x_name, n,
                 dim);
        return 1;
    }
    if (dim > (size_t)BL_DATAFILE_MAX_ELEMENTS / n) {
        snprintf(err, err_len,
                 "%s: '%s' is too large: %zu x %zu values, more than the %ld (2^31 - 1) a "
                 "data set may hold",
                 path, x_name, n, dim, BL_DATAFILE_MAX_ELEMENTS);
        return 1;
    }
    return 0;
}

/* Regression: x (sample, feature) and real targets t_name (sample) or
 * (sample, output), every target finite. */
static int load_targets(int ncid, const char *path, const char *x_name, const char *t_name,
                        struct bl_dataset *out, char *err, size_t err_len)
{
    struct nc_var xv, tv;
    memset(out, 0, sizeof *out);
    int rank, varid;
    if (nc_inq_varid(ncid, t_name, &varid) != NC_NOERR ||
        nc_inq_varndims(ncid, varid, &rank) != NC_NOERR)
        rank = 1;
    if (find_var(ncid, path, x_name, 2, "(sample, feature)", &xv, err, err_len) != 0 ||
        find_var(ncid, path, t_name, rank == 2 ? 2 : 1,
                 rank == 2 ? "(sample, output)" : "(sample)", &tv, err, err_len) != 0 ||
        check_x_shape(path, x_name, &xv, t_name, &tv, "targets", err, err_len) != 0)
        return 1;
    size_t n = tv.len[0], k = rank == 2 ? tv.len[1] : 1;
    if (k == 0 || k > 1000) {
        snprintf(err, err_len, "%s: '%s' has %zu outputs per sample, allowed 1..1000", path,
                 t_name, k);
        return 1;
    }
    if (check_classic_size(ncid, path, t_name, &tv, n * k, err, err_len) != 0 ||
        load_x(ncid, path, x_name, &xv, out, err, err_len) != 0) {
        bl_dataset_release(out);
        return 1;
    }
    out->target = bl_malloc(sizeof(double) * n * k);
    int nrc = nc_get_var_double(ncid, tv.id, out->target);
    double fill;
    int has_fill = fill_value(ncid, &tv, &fill);
    for (size_t i = 0; nrc == NC_NOERR && i < n * k; i++)
        if (!isfinite(out->target[i]) || (has_fill && out->target[i] == fill)) {
            snprintf(err, err_len,
                     "%s: '%s' holds %s at sample %zu; targets must be finite numbers", path,
                     t_name, isfinite(out->target[i]) ? "the fill value" : "a non-finite value",
                     i / k);
            bl_dataset_release(out);
            return 1;
        }
    if (nrc != NC_NOERR) {
        snprintf(err, err_len, "%s: cannot read '%s': %s", path, t_name, nc_strerror(nrc));
        bl_dataset_release(out);
        return 1;
    }
    out->targets = (int)k;
    out->classes = 0;
    return 0;
}

/* How a file's labels name its classes: 0..K-1 as they are, or the binary
 * -1/+1 read as classes 0 and 1. The training set decides; the test set
 * follows. */
struct label_coding {
    int classes;    /* K */
    int plus_minus; /* the training labels are exactly -1 and +1 */
    int from_attr;  /* K is the global attribute 'classes' */
};

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The global attribute 'classes': 0 when absent, -1 with err set when it is
 * not one positive integer or cannot be read. */
static int classes_attribute(int ncid, const char *path, char *err, size_t err_len)
{
    nc_type type;
    size_t len;
    int rc = nc_inq_att(ncid, NC_GLOBAL, "classes", &type, &len);
    if (rc == NC_ENOTATT)
        return 0;
    if (rc != NC_NOERR) {
        snprintf(err, err_len, "%s: cannot inspect the global attribute 'classes': %s", path,
                 nc_strerror(rc));
        return -1;
    }
    double classes = 0;
    if (!nc_numeric(type) || len != 1 ||
        nc_get_att_double(ncid, NC_GLOBAL, "classes", &classes) != NC_NOERR ||
        !(classes >= 1 && classes <= INT_MAX && classes == floor(classes))) {
        snprintf(err, err_len, "%s: the global attribute 'classes' must be one positive integer",
                 path);
        return -1;
    }
    return (int)classes;
}

/* The coding of the training labels y (n, integers): 0..K-1 with every
 * class present (K the attribute 'classes' when attr > 0, else the largest
 * label + 1), or exactly -1 and +1 without the attribute. Otherwise 1 with
 * err saying what the labels are. */
static int training_coding(const char *path, const char *y_name, const double *y, size_t n,
                           int attr, struct label_coding *c, char *err, size_t err_len)
{
    double *v = bl_malloc(sizeof(double) * n); /* (n) sorted, then its distinct values */
    memcpy(v, y, sizeof(double) * n);
    qsort(v, n, sizeof(double), by_value);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (distinct == 0 || v[i] != v[distinct - 1])
            v[distinct++] = v[i];
    double lo = v[0], hi = v[distinct - 1];
    int missing = 0, first_missing = 0;
    int rc = 1;
    c->from_attr = attr > 0;
    c->plus_minus = !attr && distinct == 2 && lo == -1 && hi == 1;
    c->classes = c->plus_minus ? 2 : attr ? attr : (int)hi + 1;
    const char *or_binary = attr ? "" : ", or exactly -1 and +1 for two classes";
    if (c->plus_minus) {
        rc = 0;
    } else if (lo < 0) {
        size_t at = 0;
        while (y[at] >= 0)
            at++;
        snprintf(err, err_len,
                 "%s: negative label %g in '%s' at sample %zu: the labels there are %g..%g "
                 "(%zu distinct); labels must be class indices 0..K-1 with every class "
                 "present in the training set%s",
                 path, y[at], y_name, at, lo, hi, distinct, or_binary);
    } else if (hi >= c->classes) {
        size_t at = 0;
        while (y[at] != hi)
            at++;
        snprintf(err, err_len,
                 "%s: label %g in '%s' at sample %zu is out of range: the global attribute "
                 "classes = %d allows 0..%d",
                 path, hi, y_name, at, c->classes, c->classes - 1);
    } else {
        /* the distinct labels are a sorted subset of 0..K-1: the first gap is
         * the first class whose rank is not its value */
        missing = c->classes - (int)distinct;
        size_t first = 0;
        while (first < distinct && v[first] == (double)first)
            first++;
        first_missing = (int)first;
        if (missing == 0) {
            rc = 0;
        } else {
            char attr_text[64] = "", more[48] = "";
            if (attr)
                snprintf(attr_text, sizeof attr_text, " and the global attribute classes = %d",
                         attr);
            if (missing > 1)
                snprintf(more, sizeof more, " (and %d more)", missing - 1);
            snprintf(err, err_len,
                     "%s: labels in '%s' are %g..%g (%zu distinct)%s; class %d%s has no "
                     "training example; labels must be 0..K-1 with every class present in "
                     "the training set%s",
                     path, y_name, lo, hi, distinct, attr_text, first_missing, more, or_binary);
        }
    }
    free(v);
    return rc;
}

/* Test labels must name classes of the training set (some may be absent). */
static int test_labels_valid(const char *path, const char *y_name, const double *y, size_t n,
                             const struct label_coding *c, char *err, size_t err_len)
{
    for (size_t i = 0; i < n; i++) {
        if (c->plus_minus && y[i] != -1 && y[i] != 1) {
            snprintf(err, err_len,
                     "%s: label %g in '%s' at sample %zu: the training labels in 'y' are -1 "
                     "and +1, so the test labels must be -1 or +1",
                     path, y[i], y_name, i);
            return 1;
        }
        if (!c->plus_minus && (y[i] < 0 || y[i] >= c->classes)) {
            snprintf(err, err_len,
                     "%s: label %g in '%s' at sample %zu is not a class of the training set, "
                     "whose classes are 0..%d (%s)",
                     path, y[i], y_name, i, c->classes - 1,
                     c->from_attr ? "the global attribute 'classes'" : "the labels in 'y'");
            return 1;
        }
    }
    return 0;
}

/* Load x_name/y_name from the open file into out. train == NULL: this is
 * the training set, whose labels decide the coding (into *coding); else a
 * test set, whose labels must follow train's coding. */
static int load_pair(int ncid, const char *path, const char *x_name, const char *y_name,
                     const struct label_coding *train, struct label_coding *coding,
                     struct bl_dataset *out, char *err, size_t err_len)
{
    struct nc_var xv, yv;
    double *y = NULL; /* (n) labels as read */
    int rc = 1;
    memset(out, 0, sizeof *out);
    if (find_var(ncid, path, x_name, 2, "(sample, feature)", &xv, err, err_len) != 0 ||
        find_var(ncid, path, y_name, 1, "(sample)", &yv, err, err_len) != 0)
        return 1;
    size_t n = xv.len[0];
    if (check_x_shape(path, x_name, &xv, y_name, &yv, "labels", err, err_len) != 0)
        return 1;
    if (check_classic_size(ncid, path, x_name, &xv, n * xv.len[1], err, err_len) != 0 ||
        check_classic_size(ncid, path, y_name, &yv, n, err, err_len) != 0 ||
        load_x(ncid, path, x_name, &xv, out, err, err_len) != 0)
        goto done;
    y = bl_malloc(sizeof(double) * n);
    int nrc = nc_get_var_double(ncid, yv.id, y);
    if (nrc != NC_NOERR) {
        snprintf(err, err_len, "%s: cannot read '%s': %s", path, y_name, nc_strerror(nrc));
        goto done;
    }
    double fill;
    int has_fill = fill_value(ncid, &yv, &fill);
    for (size_t i = 0; i < n; i++) {
        if (has_fill && y[i] == fill) {
            snprintf(err, err_len,
                     "%s: '%s' holds the fill value %g (missing label) at sample %zu", path,
                     y_name, fill, i);
            goto done;
        }
        if (!isfinite(y[i]) || y[i] != floor(y[i])) {
            snprintf(err, err_len,
                     "%s: non-integer label %g in '%s' at sample %zu; labels must be class "
                     "indices 0..K-1",
                     path, y[i], y_name, i);
            goto done;
        }
        /* The class count max + 1 must fit in an int. */
        if (fabs(y[i]) >= INT_MAX) {
            snprintf(err, err_len, "%s: label %g in '%s' at sample %zu is too large", path,
                     y[i], y_name, i);
            goto done;
        }
    }
    if (train) {
        if (test_labels_valid(path, y_name, y, n, train, err, err_len))
            goto done;
        *coding = *train;
    } else {
        int attr = classes_attribute(ncid, path, err, err_len);
        if (attr < 0 || training_coding(path, y_name, y, n, attr, coding, err, err_len))
            goto done;
    }
    out->classes = coding->classes;
    out->label = bl_malloc(sizeof(int) * n);
    for (size_t i = 0; i < n; i++)
        out->label[i] = coding->plus_minus ? (y[i] > 0) : (int)y[i];
    rc = 0;
done:
    free(y);
    if (rc != 0)
        bl_dataset_release(out);
    return rc;
}

static int nc_open_dataset(const char *path, int *ncid, char *err, size_t err_len)
{
    int rc = nc_open(path, NC_NOWRITE, ncid);
    if (rc == NC_ENOTNC)
        snprintf(err, err_len, "%s: not a NetCDF file (%s)", path, nc_strerror(rc));
    else if (rc != NC_NOERR)
        snprintf(err, err_len, "%s: cannot open: %s", path, nc_strerror(rc));
    return rc != NC_NOERR;
}

int bl_netcdf_dataset_load(const char *path, const char *x_name, const char *y_name,
                           struct bl_dataset *out, char *err, size_t err_len)
{
    int ncid;
    struct label_coding coding;
    memset(out, 0, sizeof *out);
    if (nc_open_dataset(path, &ncid, err, err_len) != 0)
        return 1;
    int rc = load_pair(ncid, path, x_name, y_name, NULL, &coding, out, err, err_len);
    nc_close(ncid);
    return rc;
}

int bl_netcdf_data_load(const char *path, struct bl_dataset *train, struct bl_dataset *test,
                        char *note, size_t note_len, char *err, size_t err_len)
{
    int ncid, varid;
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (note && note_len)
        note[0] = '\0';
    if (nc_open_dataset(path, &ncid, err, err_len) != 0)
        return 1;
    /* real-valued targets (regression) in 'target', or class labels in 'y' */
    int regression = nc_inq_varid(ncid, "target", &varid) == NC_NOERR &&
                     nc_inq_varid(ncid, "y", &varid) != NC_NOERR;
    if (regression) {
        int rc = load_targets(ncid, path, "x", "target", train, err, err_len);
        if (rc == 0 && (nc_inq_varid(ncid, "x_test", &varid) == NC_NOERR ||
                        nc_inq_varid(ncid, "target_test", &varid) == NC_NOERR)) {
            rc = load_targets(ncid, path, "x_test", "target_test", test, err, err_len);
            if (rc == 0 && (test->dim != train->dim || test->targets != train->targets)) {
                snprintf(err, err_len, "%s: 'x_test'/'target_test' have %d features and %d "
                         "outputs, 'x'/'target' %d and %d", path, test->dim, test->targets,
                         train->dim, train->targets);
                rc = 1;
            }
        }
        nc_close(ncid);
        if (rc != 0) {
            bl_dataset_release(train);
            bl_dataset_release(test);
        }
        return rc;
    }
    struct label_coding coding, test_coding;
    int rc = load_pair(ncid, path, "x", "y", NULL, &coding, train, err, err_len);
    /* Either test variable alone is an error, which load_pair reports. */
    if (rc == 0 && (nc_inq_varid(ncid, "x_test", &varid) == NC_NOERR ||
                    nc_inq_varid(ncid, "y_test", &varid) == NC_NOERR)) {
        rc = load_pair(ncid, path, "x_test", "y_test", &coding, &test_coding, test, err,
                       err_len);
        if (rc == 0 && test->dim != train->dim) {
            snprintf(err, err_len, "%s: 'x_test' has %d features but 'x' has %d", path,
                     test->dim, train->dim);
            rc = 1;
        }
    }
    nc_close(ncid);
    if (rc != 0) {
        bl_dataset_release(train);
        bl_dataset_release(test);
    } else if (coding.plus_minus && note && note_len) {
        snprintf(note, note_len,
                 "%s: the labels in 'y' are -1 and +1, read as class 0 (-1) and class 1 (+1)",
                 path);
    }
    return rc;
}
