/* lab-helper serve: one long-lived helper that starts many sandboxes for one lab
 * process. See serve.c. */
#ifndef LAB_SERVE_H
#define LAB_SERVE_H

/* The helper's ordinary one-sandbox path (main.c): plan on fd 3, events back on it. */
int helper_run(void);
/* Serves run requests on fd 3 until it closes. */
int serve(void);

#endif
