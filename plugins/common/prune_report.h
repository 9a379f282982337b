/* plugins/common/prune_report.h: what every driver's `fahr prune`
 * (fahr_plugin.prune) shares, the Docker drivers' and sagemaker's ECR
 * pruning alike: the --older-than rule and the report to the host. Kept
 * apart from docker_prune.c so that a driver without a container engine
 * (sagemaker) links no engine client. */
#ifndef FAHR_PRUNE_REPORT_H
#define FAHR_PRUNE_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include <fahr/plugin.h>

/* Whether something made at `created` (Unix time) is older than the
 * request's --older-than (always, without one). */
bool prune_old_enough(const struct fahr_prune_request *request, int64_t created);

/* Report one thing removed (or that would be) to the host. */
void prune_report(const struct fahr_prune_request *request, enum fahr_prune_kind kind,
                  const char *name, uint64_t bytes);

#endif
