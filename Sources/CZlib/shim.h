#ifndef NGD_CZLIB_SHIM_H
#define NGD_CZLIB_SHIM_H
// zlib (Debian: zlib1g-dev), used only to read gzip'd dataset files.
#include <zlib.h>
#endif
