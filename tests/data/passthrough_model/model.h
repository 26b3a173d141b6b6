/*
 * A hand-written stand-in for a generated model, to test the firmware infrastructure
 * (build, QEMU run, I/O, stack and instruction measurement) without codegen: two inputs
 * and two outputs living in one arena, out0[i] = in0[i] ^ 0x55 and out1[i] = in1[i] + 1
 * (wrapping), with a weights.c constant table so the .rodata path is exercised too.
 */
#ifndef TC_MODEL_H
#define TC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#define TC_MODEL_ARENA_BYTES 1040
#define TC_MODEL_NUM_INPUTS 2
#define TC_MODEL_NUM_OUTPUTS 2

int tc_model_invoke(void);
void *tc_model_input(int index);
size_t tc_model_input_bytes(int index);
void *tc_model_output(int index);
size_t tc_model_output_bytes(int index);

#endif /* TC_MODEL_H */
