/* Overlayfs markers in the image store's layers (layer_marks.c). */
#ifndef LAB_LAYER_MARKS_H
#define LAB_LAYER_MARKS_H

/* `lab-helper layer-marks ROOT`: stdin lines "w PATH" (a whiteout) or "o PATH" (an
 * opaque directory), PATH relative to ROOT and percent-encoded. */
int layer_marks_main(int argc, char **argv);
/* `lab-helper overlay-scan ROOT`: an overlay upper directory's opaque directories, one
 * NUL-terminated relative path each on stdout ("" for ROOT itself). */
int overlay_scan_main(int argc, char **argv);

#endif
