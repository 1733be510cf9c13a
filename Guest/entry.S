/* Every vCPU enters here in 64-bit ring 3 (the VMM built GDT, TSS, page tables and set
 * CS/SS to ring-3 selectors): %rdi = vCPU index, %rsi = &boot_info. No ring-0 code. */
#include "layout.h"
    .section .text.entry, "ax"
    .globl _start
_start:
    cmp $MAX_CPUS, %rdi
    jae 1f
    mov %rdi, %rax
    inc %rax
    shl $14, %rax
    lea stacks(%rip), %rsp
    add %rax, %rsp
    call guest_main
1:  jmp 1b

    .bss
    .balign 4096
stacks:
    .skip MAX_CPUS * 16384

    .section .note.GNU-stack, "", @progbits
