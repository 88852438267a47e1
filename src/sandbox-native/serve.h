/* lab-helper serve: one long-lived helper that starts many sandboxes for one lab
 * process. See serve.c. */
#ifndef LAB_SERVE_H
#define LAB_SERVE_H

/* Serves run requests on fd 3 until it closes. */
int serve(void);

#endif
