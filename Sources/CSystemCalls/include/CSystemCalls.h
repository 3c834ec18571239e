#ifndef LEVY_CSYSTEMCALLS_H
#define LEVY_CSYSTEMCALLS_H

/// syncfs(2): makes everything written to the file system holding `fd` durable, in one call.
/// Swift's Glibc module does not export it (it is a GNU extension), so levy reaches it here.
/// Returns 0, or -1 with errno set (since Linux 5.8 also when an earlier writeback failed).
int levy_syncfs(int fd);

/// renameat2(2) with RENAME_NOREPLACE: renames `from` to `to` only when `to` does not exist, atomically.
/// Returns 0, or -1 with errno set (EEXIST when `to` exists; EINVAL or ENOSYS where the file system
/// or kernel cannot do it, and the caller falls back on link(2) + unlink(2)).
int levy_rename_noreplace(const char *from, const char *to);

#include <stddef.h>

/// memrchr(3), the last `c` in the `n` bytes at `s` (NULL if none): a GNU extension Swift's Glibc
/// module does not export, used by the XML tag-length guard.
const void *levy_memrchr(const void *s, int c, size_t n);

/// Sets the nice value of the calling thread alone (setpriority(2) with its thread id, as Linux
/// allows): a helper thread that must yield the core to the critical one. Returns 0, or -1 with errno.
int levy_set_thread_nice(int nice);

#endif
