/* core/host_driver.c: each driver's own copy of the host table (ABI 1.1:
 * host->driver), whose log() prefixes every line with the driver's name.
 *
 * host->log() is given no table, so one shared function could not tell
 * which driver called it (a "current driver" set around each call would
 * miss the lines of threads a driver starts, and need every call site).
 * Instead each copy gets a log function of its own: one of a fixed set of
 * slots, each bound to one driver's name. A command opens two or three
 * drivers; past DRIVER_SLOTS names, lines are printed without one. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fahr.h"

#define DRIVER_SLOTS 8

/* Names are [a-z0-9-]{1,64} (plugin_scan.c); written before the driver's
 * open() is called, only read after. */
static char slot_names[DRIVER_SLOTS][65];
static size_t slots_used;

#define DEFINE_SLOT(i)                                                                         \
    static void __attribute__((format(printf, 2, 3)))                                         \
    slot_log_##i(enum fahr_log_level level, const char *fmt, ...)                              \
    {                                                                                          \
        va_list ap;                                                                            \
        va_start(ap, fmt);                                                                     \
        host_vlog(slot_names[i], level, fmt, ap);                                              \
        va_end(ap);                                                                            \
    }
DEFINE_SLOT(0)
DEFINE_SLOT(1)
DEFINE_SLOT(2)
DEFINE_SLOT(3)
DEFINE_SLOT(4)
DEFINE_SLOT(5)
DEFINE_SLOT(6)
DEFINE_SLOT(7)

typedef void (*log_fn)(enum fahr_log_level level, const char *fmt, ...);
static const log_fn slot_logs[DRIVER_SLOTS] = {slot_log_0, slot_log_1, slot_log_2, slot_log_3,
                                               slot_log_4, slot_log_5, slot_log_6, slot_log_7};

/* The log function that prefixes `driver`, or NULL when the slots are
 * taken. A name seen before (a build and a train driver may share one)
 * keeps its slot. */
static log_fn log_of(const char *driver)
{
    for (size_t i = 0; i < slots_used; i++)
        if (strcmp(slot_names[i], driver) == 0)
            return slot_logs[i];
    if (slots_used == DRIVER_SLOTS || strlen(driver) >= sizeof slot_names[0])
        return NULL;
    memcpy(slot_names[slots_used], driver, strlen(driver) + 1);
    return slot_logs[slots_used++];
}

void host_table_for_driver(struct fahr_host *table, const char *driver)
{
    *table = *host_services();
    table->driver = driver;
    log_fn log = log_of(driver);
    if (log != NULL)
        table->log = log;
}
