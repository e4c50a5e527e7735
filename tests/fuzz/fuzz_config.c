/* libFuzzer target for the config parser (src/config.c).
 *
 * Input: INI text. Lines that start with "--set " are taken out of the file
 * and passed as overrides ("section.key=value"), the way the command line
 * passes them. Every input is loaded with bl_config_load; each override is
 * also applied on its own with bl_config_set to a default config.
 *
 * Properties checked (a violation aborts, which libFuzzer reports):
 *  - the parser returns (bl_fatal would exit: libFuzzer reports that too);
 *  - a failed load leaves a non-empty, NUL-terminated message;
 *  - a loaded config validates, every sweep point resolves, and the resolved
 *    INI text (what `biaslab check` prints and the output's config attribute
 *    stores) loads back to the same text. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bl_config.h"

#include "fuzz_memfd.h"

#define MAX_OVERRIDES 8

static int ini_fd = -1, back_fd = -1;
static char ini_path[64], back_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    ini_fd = make_memfd("fuzz_config.ini", ini_path, sizeof ini_path);
    back_fd = make_memfd("fuzz_config_back.ini", back_path, sizeof back_path);
    return 0;
}

static void check_message(int rc, const char *err, size_t len, const char *what)
{
    if (rc == 0)
        return;
    if (memchr(err, '\0', len) == NULL || err[0] == '\0') {
        fprintf(stderr, "fuzz_config: %s failed without a message\n", what);
        abort();
    }
}

/* "section.key=value" -> bl_config_set on a default config. */
static void set_directly(const char *o)
{
    static struct bl_config cfg;
    char err[BL_ERR_MAX];
    char *copy = strdup(o);
    if (!copy)
        abort();
    char *eq = strchr(copy, '=');
    char *dot = strchr(copy, '.');
    if (eq && dot && dot < eq) {
        *eq = '\0';
        *dot = '\0';
        bl_config_defaults(&cfg);
        err[0] = '\0';
        int rc = bl_config_set(&cfg, copy, dot + 1, eq + 1, "--set", 0, err, sizeof err);
        check_message(rc, err, sizeof err, "bl_config_set");
        if (rc == 0) {
            /* A value that was accepted must print back. */
            char *ini = bl_config_ini_string(&cfg);
            free(ini);
        }
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct bl_config cfg, back, point;
    char err[BL_ERR_MAX];
    char *overrides[MAX_OVERRIDES];
    int n_overrides = 0;

    /* Split: "--set " lines become overrides, the rest is the file. */
    uint8_t *text = malloc(size + 1);
    if (!text)
        abort();
    size_t text_len = 0;
    for (size_t i = 0; i < size;) {
        const uint8_t *nl = memchr(data + i, '\n', size - i);
        size_t end = nl ? (size_t)(nl - data) + 1 : size;
        size_t line_len = end - i;
        if (line_len >= 6 && memcmp(data + i, "--set ", 6) == 0 && n_overrides < MAX_OVERRIDES) {
            size_t n = line_len - 6 - (nl ? 1 : 0);
            char *o = malloc(n + 1);
            if (!o)
                abort();
            memcpy(o, data + i + 6, n);
            o[n] = '\0';
            overrides[n_overrides++] = o;
        } else {
            memcpy(text + text_len, data + i, line_len);
            text_len += line_len;
        }
        i = end;
    }
    put_file(ini_fd, text, text_len);
    free(text);

    for (int i = 0; i < n_overrides; i++)
        set_directly(overrides[i]);

    err[0] = '\0';
    int rc = bl_config_load(ini_path, (const char *const *)overrides, n_overrides, &cfg, err,
                            sizeof err);
    check_message(rc, err, sizeof err, "bl_config_load");
    if (rc == 0) {
        if (bl_config_validate(&cfg, err, sizeof err) != 0) {
            fprintf(stderr, "fuzz_config: loaded config does not validate: %s\n", err);
            abort();
        }
        int n = bl_config_n_points(&cfg);
        if (n < 1) {
            fprintf(stderr, "fuzz_config: %d sweep points\n", n);
            abort();
        }
        /* The first few points and the last (a sweep can have 10^6). */
        for (int p = 0; p < n; p = p < 3 ? p + 1 : (p < n - 1 ? n - 1 : n)) {
            if (bl_config_for_point(&cfg, p, &point, err, sizeof err) != 0) {
                fprintf(stderr, "fuzz_config: point %d of a loaded config fails: %s\n", p, err);
                abort();
            }
        }
        char out[BL_PATH_MAX + 64];
        bl_config_output_path(&cfg, out, sizeof out);

        /* Round trip through the resolved INI text. */
        char *ini = bl_config_ini_string(&cfg);
        if (!ini)
            abort();
        put_file(back_fd, ini, strlen(ini));
        if (bl_config_load(back_path, NULL, 0, &back, err, sizeof err) != 0) {
            fprintf(stderr,
                    "fuzz_config: the resolved config does not load back: %s\n--- text:\n%s",
                    err, ini);
            abort();
        }
        char *ini2 = bl_config_ini_string(&back);
        if (!ini2)
            abort();
        if (strcmp(ini, ini2) != 0) {
            fprintf(stderr, "fuzz_config: round trip changed the config:\n--- first:\n%s--- "
                            "second:\n%s",
                    ini, ini2);
            abort();
        }
        free(ini);
        free(ini2);
    }
    for (int i = 0; i < n_overrides; i++)
        free(overrides[i]);
    return 0;
}
