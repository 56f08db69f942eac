// What Swift's Glibc module leaves out for direct I/O: the O_DIRECT flag (defined by glibc only
// under _GNU_SOURCE; its value differs between architectures) and fstatfs's file system type.
#if defined(__linux__)
#include <fcntl.h>
#include <sys/vfs.h>

/// O_DIRECT, or 0 where this C library does not define it.
static inline int tagdata_o_direct(void) {
#if defined(O_DIRECT)
  return O_DIRECT;
#elif defined(__O_DIRECT)
  return __O_DIRECT;
#else
  return 0;
#endif
}

/// The type (magic number) of the file system that holds `fd`; -1 when it cannot be told.
static inline long tagdata_fs_type(int fd) {
  struct statfs s;
  if (fstatfs(fd, &s) != 0) return -1;
  return (long)s.f_type;
}
#endif
