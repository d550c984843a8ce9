#ifndef HG_CSODIUM_SHIM_H
#define HG_CSODIUM_SHIM_H
#include <sodium.h>
#endif
