#ifndef LEVY_CSYSTEMCALLS_H
#define LEVY_CSYSTEMCALLS_H

/// syncfs(2): makes everything written to the file system holding `fd` durable, in one call.
/// Swift's Glibc module does not export it (it is a GNU extension), so levy reaches it here.
/// Returns 0, or -1 with errno set (since Linux 5.8 also when an earlier writeback failed).
int levy_syncfs(int fd);

#endif
