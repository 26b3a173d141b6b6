/* tinyconv kernels: LSTM and SVDF. */
#ifndef TC_NN_RECURRENT_H
#define TC_NN_RECURRENT_H

#include "tc_nn_types.h"

#endif /* TC_NN_RECURRENT_H */
