/* plugins/common/job_name.h: job names now live in the host
 * (core/job_name.h, host->job_name for drivers, ABI 1.1). Until the
 * built-in drivers call host->job_name, they compile the host's file
 * (plugins/meson.build) through this header. */
#include "../../core/job_name.h"
