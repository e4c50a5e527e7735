/* Shared by the fuzz targets: in-memory files that the loaders open by path
 * (/proc/self/fd/N), rewritten for every input without touching the disk. */
#ifndef FUZZ_MEMFD_H
#define FUZZ_MEMFD_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* A new memfd; path receives a name the loaders can open. */
static int make_memfd(const char *name, char *path, size_t len)
{
    int fd = memfd_create(name, 0);
    if (fd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return fd;
}

/* Replace the memfd's contents with data (size bytes). */
static void put_file(int fd, const void *data, size_t size)
{
    if (ftruncate(fd, 0) != 0 || (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz: writing the memfd");
        abort();
    }
}

#endif
