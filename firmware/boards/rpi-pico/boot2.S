/*
 * RP2040 second-stage boot loader ("boot2") for the Raspberry Pi Pico, written for tinyconv
 * from the RP2040 datasheet (section 2.8.1, "Boot sequence"; chapter 4.10, "SSI").
 *
 * The boot ROM copies the first 256 bytes of flash to SRAM, checks that the CRC32 of the
 * first 252 (polynomial 0x04C11DB7, initial value 0xFFFFFFFF, bits not reflected, no final
 * XOR) equals the little-endian word in the last 4, and enters it in Thumb state with
 * lr = 0. Its job: make the flash readable as memory (execute in place, XIP) and enter the
 * image's vector table, which the linker script places right after it (@0x10000100).
 *
 * The boot ROM has already set up the QSPI pads and the SSI (it read these 256 bytes with
 * 03h serial reads). This loader keeps to 03h reads, which every SPI NOR flash answers, so
 * it is slower than a quad-I/O loader but needs no knowledge of the flash chip:
 *   CTRLR0      DFS_32 = 31 (32-bit frames), TMOD = 3 (EEPROM read: command, then receive)
 *   BAUDR       4: SSI clock = clk_sys / 4
 *   SPI_CTRLR0  XIP_CMD = 0x03, INST_L = 2 (8-bit instruction), ADDR_L = 6 (24-bit address),
 *               TRANS_TYPE = 0 (instruction and address in standard SPI)
 *   CTRLR1      NDF = 0: one 32-bit frame per XIP read
 *
 * tests/pipeline/test_targets_m0plus_m33.py assembles this file and checks the CRC word.
 * After editing the code above `.org 252`, put the CRC that test reports into BOOT2_CRC32.
 */
    .syntax unified
    .cpu cortex-m0plus
    .thumb

#define XIP_SSI_BASE 0x18000000
#define SSI_CTRLR0 0x00
#define SSI_CTRLR1 0x04
#define SSI_SSIENR 0x08
#define SSI_BAUDR 0x14
#define SSI_SPI_CTRLR0 0xf4
#define CTRLR0_VALUE ((31 << 16) | (3 << 8))
#define SPI_CTRLR0_VALUE ((0x03 << 24) | (2 << 8) | (6 << 2))
#define SSI_CLOCK_DIVIDER 4
#define IMAGE_VECTORS 0x10000100
#define M0PLUS_VTOR 0xe000ed08
#define BOOT2_CRC32 0x463209e0

    .section .boot2, "ax", %progbits
    .global tc_boot2
    .type tc_boot2, %function
    .thumb_func
tc_boot2:
    push {lr}
    ldr r3, =XIP_SSI_BASE
    movs r1, #0
    str r1, [r3, #SSI_SSIENR]       /* the SSI is configured while disabled */
    movs r1, #SSI_CLOCK_DIVIDER
    str r1, [r3, #SSI_BAUDR]
    ldr r1, =CTRLR0_VALUE
    str r1, [r3, #SSI_CTRLR0]
    ldr r1, =SPI_CTRLR0_VALUE
    ldr r0, =(XIP_SSI_BASE + SSI_SPI_CTRLR0)
    str r1, [r0]
    movs r1, #0
    str r1, [r3, #SSI_CTRLR1]
    movs r1, #1
    str r1, [r3, #SSI_SSIENR]       /* XIP reads of 0x10000000.. now go to the flash */
    pop {r0}
    cmp r0, #0
    beq 1f
    bx r0                           /* called as a function: return to the caller */
1:  ldr r0, =IMAGE_VECTORS          /* entered from the boot ROM: start the image */
    ldr r1, =M0PLUS_VTOR
    str r0, [r1]
    ldmia r0!, {r1, r2}             /* initial SP, reset handler */
    msr msp, r1
    bx r2
    .ltorg
    .size tc_boot2, . - tc_boot2

    .org 252
    .word BOOT2_CRC32
