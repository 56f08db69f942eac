#include <zlib.h>
/* inflateInit2 is a macro; Swift cannot call it directly. */
static inline int tagdata_inflateInit2(z_streamp strm, int windowBits) {
  return inflateInit2(strm, windowBits);
}
static inline int tagdata_deflateInit2(z_streamp strm, int level, int windowBits) {
  return deflateInit2(strm, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}
