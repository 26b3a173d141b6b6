# Raspberry Pi Pico (RP2040): dual Cortex-M0+ (Armv6-M: no DSP, no divide instruction, no
# unaligned access; the RP2040's SIO divider is not used), up to 133 MHz (runs on the ~6 MHz
# ring oscillator the boot ROM leaves running). tinyconv runs on core 0; core 1 stays in the
# boot ROM.
# Flash: 2 MiB QSPI (W25Q16) executed in place @0x10000000. Its first 256 bytes must be a
# second-stage boot loader ("boot2") with a CRC32 the boot ROM checks: this board links
# boards/rpi-pico/boot2.S there (section .boot2, generic 03h serial reads, works with any
# flash), which sets up XIP and enters the vector table that follows it @0x10000100.
# RAM: SRAM0-3 256 KiB (striped) @0x20000000 + SRAM4/5 4 + 4 KiB @0x20040000 = 264 KiB,
# contiguous (the boot ROM's boot2 copy at the top of SRAM5 is dead once we run).
# Flashed and run through an SWD probe (Raspberry Pi Debug Probe, or a second Pico running
# debugprobe) with OpenOCD 0.12 or later, which also serves semihosting (console, files).
# Without a probe: `picotool load -x build/rpi-pico/tinyconv.elf` in BOOTSEL mode flashes
# and starts it, but with no debugger the app stops at its first console write (BKPT).
CPU := cortex-m0plus
ISA := ref
CPU_FLAGS := -mcpu=cortex-m0plus -mthumb -mfloat-abi=soft
FLASH_ORIGIN := 0x10000000
FLASH_SIZE ?= 2M
RAM_ORIGIN := 0x20000000
RAM_SIZE ?= 264K
QEMU_MACHINE :=
FLASH_TOOL := openocd
OPENOCD_CFG := interface/cmsis-dap.cfg target/rp2040.cfg
OPENOCD_INIT := adapter speed 5000
include $(FW_DIR)/boards/common/cortex-m.mk
BOARD_SRCS += $(FW_DIR)/boards/rpi-pico/boot2.S
