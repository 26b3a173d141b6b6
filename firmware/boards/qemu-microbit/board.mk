# BBC micro:bit v1 (nRF51822: Cortex-M0, Armv6-M) in QEMU's `microbit` machine: a real
# Armv6-M core (unaligned word accesses fault, no divide instruction) but only 16 KiB of
# RAM, so it runs small models only; a model that does not fit is refused by its RAM
# budget. Larger Cortex-M0+ models run on qemu-m0plus (the same build on MPS2 AN385).
# The code is built for -mcpu=cortex-m0plus: the M0+ and M0 share the Armv6-M instruction set.
# QEMU memory map (`info mtree`): flash 256 KiB @0x0, SRAM 16 KiB @0x20000000.
CPU := cortex-m0plus
ISA := ref
CPU_FLAGS := -mcpu=cortex-m0plus -mthumb -mfloat-abi=soft
FLASH_ORIGIN := 0x00000000
FLASH_SIZE ?= 256K
RAM_ORIGIN := 0x20000000
RAM_SIZE ?= 16K
QEMU_MACHINE := microbit
QEMU_CPU_NOTE := a real Armv6-M core (Cortex-M0), 16 KiB of RAM
FLASH_TOOL :=
include $(FW_DIR)/boards/common/cortex-m.mk
