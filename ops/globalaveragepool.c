/* globalaveragepool: not written yet (placeholder so the tree builds). */
#include "op.h"

const kl_op *const kl_opfile_globalaveragepool[] = { NULL };
