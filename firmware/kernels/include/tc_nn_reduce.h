/* tinyconv kernels: reductions, arg max/min, log softmax, l2 normalization. */
#ifndef TC_NN_REDUCE_H
#define TC_NN_REDUCE_H

#include "tc_nn_types.h"

#endif /* TC_NN_REDUCE_H */
