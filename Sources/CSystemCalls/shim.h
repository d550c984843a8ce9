#ifndef HG_CSYSTEMCALLS_SHIM_H
#define HG_CSYSTEMCALLS_SHIM_H
/* System calls that Glibc's Swift module does not declare. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>

/* Atomically exchanges the files at `a` and `b` (both must exist): renameat2 with
   RENAME_EXCHANGE, Linux 3.15 and glibc 2.28 onwards. Returns 0, or -1 with errno set
   (EINVAL or ENOSYS where the file system or system has no such operation). */
static inline int hg_exchange_paths(const char *a, const char *b) {
#if defined(__linux__) && defined(RENAME_EXCHANGE)
    return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
#else
    (void)a; (void)b;
    errno = ENOSYS;
    return -1;
#endif
}

/* Renames `from` to `to` only if nothing exists at `to`: renameat2 with RENAME_NOREPLACE.
   Returns 0, or -1 with errno set (EEXIST when something is there; EINVAL or ENOSYS where
   the file system or system has no such operation). */
static inline int hg_rename_noreplace(const char *from, const char *to) {
#if defined(__linux__) && defined(RENAME_NOREPLACE)
    return renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
#else
    (void)from; (void)to;
    errno = ENOSYS;
    return -1;
#endif
}
#endif
