#ifndef HG_CDEFLATE_SHIM_H
#define HG_CDEFLATE_SHIM_H
/* libdeflate: whole-buffer DEFLATE, zlib-format streams and CRC-32, faster than zlib's. */
#include <libdeflate.h>
#endif
