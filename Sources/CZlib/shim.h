#ifndef HG_CZLIB_SHIM_H
#define HG_CZLIB_SHIM_H
#include <zlib.h>

/* zlib's init functions are function-like macros that pass the library
   version and the stream size; Swift cannot import macros, so wrap them. */
static inline int hg_deflateInit(z_streamp strm, int level) {
    return deflateInit(strm, level);
}

static inline int hg_deflateInit2(z_streamp strm, int level, int memLevel) {
    return deflateInit2(strm, level, Z_DEFLATED, 15, memLevel, Z_DEFAULT_STRATEGY);
}

static inline int hg_inflateInit(z_streamp strm) {
    return inflateInit(strm);
}
#endif
