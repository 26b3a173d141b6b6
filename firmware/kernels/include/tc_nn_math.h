/* tinyconv kernels: maximum/minimum, unary math, comparisons, select. */
#ifndef TC_NN_MATH_H
#define TC_NN_MATH_H

#include "tc_nn_types.h"

#endif /* TC_NN_MATH_H */
