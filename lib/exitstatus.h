/* exitstatus.h: the exit statuses pickled gives for its own failures, as
 * coreutils env, nice and timeout do: lib/ sets them in a run's result,
 * cmd/ uses them for usage errors.  Any other status is the command's. */
#ifndef PK_EXITSTATUS_H
#define PK_EXITSTATUS_H

#define PK_EXIT_FAILURE 125  /* pickled's own failure before the command ran */
#define PK_EXIT_NOEXEC 126   /* the program was found but cannot be executed */
#define PK_EXIT_NOTFOUND 127 /* the program was not found */

#endif
