/* trace_blob.c: the fast path's shared object (lib/trace-shim/shim.so,
 * built by the Makefile with its own flags), embedded in pickled so that
 * pickled stays one file: trace_fast.c writes it out for each traced run. */
#include "trace_fast.h"

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".globl pk_trace_shim_so\n"
        "pk_trace_shim_so:\n"
        ".incbin \"lib/trace-shim/shim.so\"\n"
        ".globl pk_trace_shim_so_end\n"
        "pk_trace_shim_so_end:\n"
        ".previous\n");
