# The build machine itself: the same app and model compiled natively with the host gcc
# under AddressSanitizer and UBSan, with stdio instead of semihosting. Kernel tests run
# generated models this way. Memory sizes are nominal: nothing is enforced natively.
CPU := host
ISA := ref
CPU_FLAGS :=
FLASH_ORIGIN := 0x0
FLASH_SIZE ?= 1024M
RAM_ORIGIN := 0x0
RAM_SIZE ?= 1024M
QEMU_MACHINE :=
FLASH_TOOL :=
HOST_CC ?= gcc
CC := $(HOST_CC)
NM := nm
SIZE := size
OBJCOPY := objcopy
BOARD_SRCS := $(addprefix $(FW_DIR)/boards/host/,platform_host.c bench_host.c)
