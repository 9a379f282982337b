/* plugins/common/prune_report.c: see prune_report.h. */
#include "prune_report.h"

bool prune_old_enough(const struct fahr_prune_request *request, int64_t created)
{
    return request->older_than_s <= 0 || created <= request->now - request->older_than_s;
}

void prune_report(const struct fahr_prune_request *request, enum fahr_prune_kind kind,
                  const char *name, uint64_t bytes)
{
    if (!FAHR_HAS(request, removed))
        return;
    struct fahr_prune_item item = {.size = sizeof item, .kind = kind, .name = name,
                                   .bytes = bytes};
    request->removed(request->removed_data, &item);
}
