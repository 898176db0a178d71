/* split.h -- internal to runtime/: batch split.  A plan whose every step
 * treats the images of its batch apart (the leading dim of every value
 * it computes) runs them one by one through plans of one image, one plan
 * per thread, each image on one thread: its values stay in cache from
 * layer to layer, and the threads share out images instead of meeting
 * at every layer.  Implemented in split.c. */
#ifndef KL_SPLIT_H
#define KL_SPLIT_H

#include "session.h"

/* After plan p of s is built: gives it plans of one image when its batch
 * splits (split.c's separable), else leaves it as it is.  A plan of one
 * image that cannot be made leaves p running its own steps, and s's
 * message as it was. */
void kl_split_prepare(keel_session *s, kl_plan *p);
/* Runs p's batch through its plans of one image (p->n_image_plans > 0),
 * from p's input slots into its output slots; on failure p's message
 * names the image and the node. */
keel_status kl_split_run(kl_plan *p);
void kl_split_free(kl_plan *p);

#endif
