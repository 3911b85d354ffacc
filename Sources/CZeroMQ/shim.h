// libzmq, from Debian's libzmq3-dev (pkg-config libzmq). Headers and library are on the default
// paths, so no pkgConfig is needed in Package.swift.
#include <zmq.h>
