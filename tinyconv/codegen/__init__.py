"""C code generation: lower each IR op to a kernel call, render model.c/weights.c/model.h."""
