// glibc's allocator tuning (mallopt), used by the trainer to keep its step buffers.
#if defined(__linux__)
#include <malloc.h>
#endif
