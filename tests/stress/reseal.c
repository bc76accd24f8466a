/* reseal.c: recomputes a pickled entry's checksum in place, so that a test
 * can forge an entry that only its content gives away (hostile.bats).
 * Usage: reseal FILE.  Exits 0, 1 on a write error, 2 on bad usage. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

int main(int argc, char **argv)
{
	FILE *f;
	unsigned char *b;
	long n;
	uint64_t sum;

	if (argc != 2 || (f = fopen(argv[1], "r+b")) == NULL)
		return 2;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if (n < 64 || (b = malloc((size_t)n)) == NULL || fread(b, 1, (size_t)n, f) != (size_t)n)
		return 2;
	sum = XXH3_64bits_withSeed(b, 56, XXH3_64bits(b + 64, (size_t)n - 64));
	for (int i = 0; i < 8; i++)
		b[56 + i] = (unsigned char)(sum >> (8 * i));
	rewind(f);
	if (fwrite(b, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0)
		return 1;
	return 0;
}
