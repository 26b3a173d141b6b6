/* tinyconv kernels: slice, split, pack, gather, depth/space, broadcast, cast. */
#ifndef TC_NN_SHAPE_H
#define TC_NN_SHAPE_H

#include "tc_nn_types.h"

#endif /* TC_NN_SHAPE_H */
