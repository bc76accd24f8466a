/* entry_restore.c: writing an entry's output files and directories back
 * (pk_entry_restore_files in entry.h), checking the entry's checksum in
 * the same pass where that can still be taken back. */
#include "entry.h"
#include "entry_impl.h"

#include "outpath.h"
#include "outtree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int pk_entry_check_on_restore(const pk_entry *e)
{
	return !e->verified && e->whole == NULL && e->meta.nfiles > 0;
}

/* One stream of the files frame: a declared file (member SIZE_MAX), or a
 * regular member of a declared directory. */
struct stream {
	size_t file, member;
	uint64_t size;
};

/* Splits the files frame into its streams, in meta order.  Declared files
 * were all begun before (outs[i]) and are committed only at the end;
 * directory members are begun and committed one by one. */
struct splitter {
	pk_entry *e;
	pk_outpath *outs;
	pk_outtree *trees;
	const char *statdir;
	struct stream *v;
	size_t n, j;       /* the streams, and the current one */
	uint64_t left;     /* bytes left for it */
	int open;          /* the current stream is started */
	pk_outpath member; /* the current directory member */
	int out_failed;    /* a write to a file failed (not the entry) */
};

static pk_outpath *current(struct splitter *s)
{
	return s->v[s->j].member == SIZE_MAX ? &s->outs[s->v[s->j].file] : &s->member;
}

/* Moves past finished streams to one with bytes left (or the end). */
static int split_advance(struct splitter *s, pk_error *err)
{
	while (s->j < s->n && s->left == 0) {
		const struct stream *st = &s->v[s->j];
		if (s->open) {
			s->open = 0;
			s->j++;
			if (st->member != SIZE_MAX && pk_outpath_commit(&s->member, err) < 0) {
				s->out_failed = 1;
				return -1;
			}
			continue;
		}
		if (st->member != SIZE_MAX && pk_outtree_file(&s->trees[st->file], st->member,
		                                              &s->member, s->statdir, err) < 0) {
			s->out_failed = err->errnum != 0;
			return -1;
		}
		s->open = 1;
		s->left = st->size;
	}
	return 0;
}

static int split_piece(void *ctx, const unsigned char *p, size_t n, pk_error *err)
{
	struct splitter *s = ctx;

	while (n > 0) {
		if (split_advance(s, err) < 0)
			return -1;
		if (s->j >= s->n)
			return pk_error_set(err, 0, "entry damaged: extra file data");
		size_t k = s->left < n ? (size_t)s->left : n;
		if (pk_outpath_write(current(s), p, k, err) < 0) {
			s->out_failed = 1;
			return -1;
		}
		p += k;
		n -= k;
		s->left -= k;
	}
	return 0;
}

/* The restore's one pass over the entry: the checksum of every byte when
 * it was not verified yet, and the files' content when some file needs
 * writing.  Returns 0, -1 with err set, or -2 when the entry is damaged. */
static int restore_pass(struct splitter *s, int write, pk_error *err)
{
	pk_entry *e = s->e;
	XXH3_state_t xs, *hx = e->verified ? NULL : &xs;
	int ret = 0;

	if (hx != NULL) {
		XXH3_64bits_reset(hx);
		if (entry_read_region(e, PK_ENTRY_HEADER, e->stdio_len, entry_hash_piece, hx, err) <
		    0)
			return -1;
	}
	if (write)
		ret = entry_inflate_region(e, PK_ENTRY_HEADER + e->stdio_len, e->files_len,
		                           split_piece, s, hx, err);
	else if (hx != NULL)
		ret = entry_read_region(e, PK_ENTRY_HEADER + e->stdio_len, e->files_len,
		                        entry_hash_piece, hx, err);
	if (ret == 0 && write)
		ret = split_advance(s, err);
	if (ret < 0 && err->errnum == 0 && !s->out_failed)
		ret = -2;
	if (ret == 0 && hx != NULL) {
		ret = entry_read_region(e, e->size - e->meta_len, e->meta_len, entry_hash_piece, hx,
		                        err);
		if (ret == 0 &&
		    XXH3_64bits_withSeed(e->header, 56, XXH3_64bits_digest(hx)) != e->checksum) {
			pk_error_set(err, 0, "entry checksum mismatch");
			ret = -2;
		}
		if (ret == 0)
			e->verified = 1;
	}
	if (ret == 0 && write && s->j != s->n) {
		pk_error_set(err, 0, "entry damaged: output file cut short");
		ret = -2;
	}
	return ret;
}

/* The streams of the files frame (s->v, s->n).  Returns 0 or -1. */
static int list_streams(struct splitter *s)
{
	const pk_meta *m = &s->e->meta;
	size_t n = 0;

	for (size_t i = 0; i < m->nfiles; i++)
		n += m->files[i].is_dir ? m->files[i].nmembers : 1;
	if ((s->v = calloc(n ? n : 1, sizeof(*s->v))) == NULL)
		return -1;
	for (size_t i = 0; i < m->nfiles; i++) {
		const pk_outfile *f = &m->files[i];
		if (!f->is_dir) {
			s->v[s->n++] = (struct stream){ i, SIZE_MAX, f->size };
			continue;
		}
		for (size_t k = 0; k < f->nmembers; k++)
			if (S_ISREG(f->members[k].mode))
				s->v[s->n++] = (struct stream){ i, k, f->members[k].size };
	}
	return 0;
}

int pk_entry_restore_files(pk_entry *e, const char *statdir, pk_error *err)
{
	size_t n = e->meta.nfiles, i;
	struct splitter s = { .e = e, .statdir = statdir };
	int write = 0, verify_first = 0, ret = -1;

	if (n == 0)
		return 0;
	if ((s.outs = calloc(n, sizeof(*s.outs))) == NULL ||
	    (s.trees = calloc(n, sizeof(*s.trees))) == NULL || list_streams(&s) < 0) {
		pk_error_set(err, ENOMEM, "cannot restore output");
		goto out;
	}
	/* A directory is changed member by member, and a file rewritten in
	 * place cannot be taken back: for those the checksum comes first. */
	for (i = 0; i < n; i++)
		verify_first |= e->meta.files[i].is_dir;
	if (verify_first && !e->verified && pk_entry_verify(e, 0, err) < 0) {
		ret = -2;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const pk_outfile *f = &e->meta.files[i];
		pk_outpath_want want = { f->size, f->has_sum ? f->sum : NULL, statdir };
		if (f->is_dir) {
			if (pk_outtree_begin(&s.trees[i], f, err) < 0) {
				ret = err->errnum == 0 ? -2 : -1;
				goto out;
			}
			write = 1;
			continue;
		}
		if (pk_outpath_begin(&s.outs[i], f->path, f->mode, &want, err) < 0)
			goto out;
		write |= !s.outs[i].unchanged;
		verify_first |= s.outs[i].inplace;
	}
	if (verify_first && !e->verified && pk_entry_verify(e, 0, err) < 0) {
		ret = -2;
		goto out;
	}
	if (e->size > SMALL_ENTRY)
		posix_fadvise(e->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	if ((ret = restore_pass(&s, write, err)) < 0)
		goto out;
	/* Only now is the content known good: the files appear. */
	for (i = 0; i < n; i++) {
		int rc = e->meta.files[i].is_dir ? pk_outtree_finish(&s.trees[i], err)
		                                 : pk_outpath_commit(&s.outs[i], err);
		if (rc < 0)
			ret = -1;
	}
out:
	if (s.open && s.j < s.n && s.v[s.j].member != SIZE_MAX)
		pk_outpath_abort(&s.member);
	for (i = 0; s.outs != NULL && i < n; i++) {
		pk_outpath_abort(&s.outs[i]);
		if (s.trees != NULL)
			pk_outtree_abort(&s.trees[i]);
	}
	free(s.outs);
	free(s.trees);
	free(s.v);
	return ret;
}
