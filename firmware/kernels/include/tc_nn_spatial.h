/* tinyconv kernels: resize, transpose convolution, batch matmul. */
#ifndef TC_NN_SPATIAL_H
#define TC_NN_SPATIAL_H

#include "tc_nn_types.h"

#endif /* TC_NN_SPATIAL_H */
