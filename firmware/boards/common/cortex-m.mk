# Toolchain and sources shared by every Cortex-M board (included by its board.mk).
CROSS_COMPILE ?= arm-none-eabi-
CC := $(CROSS_COMPILE)gcc
NM := $(CROSS_COMPILE)nm
SIZE := $(CROSS_COMPILE)size
OBJCOPY := $(CROSS_COMPILE)objcopy
BOARD_SRCS := $(addprefix $(FW_DIR)/boards/common/,startup.c platform_semihost.c tc_libc.c bench.S)
