# NUCLEO-H743ZI: Cortex-M7 @ up to 480 MHz (runs on the 64 MHz reset clock here).
# Flash 2 MiB @0x08000000; RAM is the AXI SRAM, 512 KiB @0x24000000, the largest
# contiguous block (DTCM 128 KiB @0x20000000 and SRAM1-3 @0x30000000 are separate).
CPU := cortex-m7
ISA := dsp
CPU_FLAGS := -mcpu=cortex-m7 -mthumb -mfpu=fpv5-d16 -mfloat-abi=hard
BOARD_CFLAGS := -DTC_ENABLE_ICACHE
FLASH_ORIGIN := 0x08000000
FLASH_SIZE ?= 2M
RAM_ORIGIN := 0x24000000
RAM_SIZE ?= 512K
QEMU_MACHINE :=
FLASH_TOOL := openocd
OPENOCD_CFG := board/st_nucleo_h743zi.cfg
include $(FW_DIR)/boards/common/cortex-m.mk
