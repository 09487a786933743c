/* The cnnc command as a function, so tests can run it in-process. */
#ifndef CNNC_DRIVER_DRIVER_H
#define CNNC_DRIVER_DRIVER_H

#include <stdio.h>

#define CNNC_VERSION "0.1.0"

/* Exit status as SPEC section 7: 0 success, 1 bad input, 2 bad command line. */
int cnnc_main(int argc, char **argv, FILE *out, FILE *err);

#endif
