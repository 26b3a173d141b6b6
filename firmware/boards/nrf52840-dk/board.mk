# nRF52840-DK: Cortex-M4F @ 64 MHz. Flash 1 MiB @0x0; RAM 256 KiB @0x20000000.
# Flashed with pyOCD through the on-board J-Link OB / CMSIS-DAP interface.
CPU := cortex-m4
ISA := dsp
CPU_FLAGS := -mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard
FLASH_ORIGIN := 0x00000000
FLASH_SIZE ?= 1M
RAM_ORIGIN := 0x20000000
RAM_SIZE ?= 256K
QEMU_MACHINE :=
FLASH_TOOL := pyocd
PYOCD_TARGET := nrf52840
include $(FW_DIR)/boards/common/cortex-m.mk
