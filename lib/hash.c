/* hash.c: XXH3 updates dispatched to AVX2 code when the CPU has it. */
#include "hash.h"

#include "hash_avx2.h"

#if defined(__x86_64__) && defined(__GLIBC__)
#include <sys/platform/x86.h>
#endif

void pk_hash_update(XXH3_state_t *st, const void *buf, size_t len)
{
#if defined(__x86_64__) && defined(__GLIBC__) && defined(CPU_FEATURE_ACTIVE)
	/* glibc's record of the CPU, made at start-up: no CPUID here, which a
	 * virtual machine traps (libgcc's __builtin_cpu_init cost a 1 KiB hit
	 * about a tenth). */
	if (CPU_FEATURE_ACTIVE(AVX2)) {
		pk_hash_avx2_update(st, buf, len);
		return;
	}
#endif
	(void)XXH3_64bits_update(st, buf, len);
}
