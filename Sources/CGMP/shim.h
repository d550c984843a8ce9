#ifndef HG_CGMP_SHIM_H
#define HG_CGMP_SHIM_H
#include <gmp.h>
#endif
