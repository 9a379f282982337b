/* core/job_name.h: job names from image names, for every train driver
 * (host->job_name, ABI 1.1; the built-in drivers still compile this file
 * into plugins/common until they call the host). SageMaker's rules, which suit the others too:
 * [a-zA-Z0-9](-*[a-zA-Z0-9])*, at most 63 characters; the image name's
 * letters and digits, a UTC time stamp and 4 random hex digits:
 * "foo/model" -> "foo-model-20261126-131554-49ea". */
#ifndef FAHR_JOB_NAME_H
#define FAHR_JOB_NAME_H

#include <stdbool.h>
#include <stddef.h>

#include "fahr/plugin.h"

/* `name` follows the rules above: what a job name given by the user (on the
 * command line, or --config.job_name) must be before it is sent anywhere. */
bool job_name_is_valid(const char *name);

void job_name_derive(const char *image_name, char *out, size_t size);
/* host->job_name: job_name_derive() cut to at most `max_length` characters
 * by cutting the image name's part (never to nothing: at least 22). */
int job_name_make(const char *image_name, size_t max_length, char *out, size_t out_size,
                  struct fahr_error *err);
/* What every job name of the image starts with: "foo-model-". */
void job_name_prefix(const char *image_name, char *out, size_t size);

/* `name` has the form job_name_derive() gives `image_name`'s jobs: the
 * prefix, then exactly "YYYYMMDD-HHMMSS-xxxx". Not proof of whose job it is:
 * other images share the prefix ("foo/model" and "foo-model"), so the job
 * itself must say which image it ran. */
bool job_name_is_derived_from(const char *name, const char *image_name);

/* The image name of a reference as typed: "foo/model:latest" and
 * "foo/model@sha256:..." -> "foo/model" (a registry's ":PORT" is kept). */
void job_name_image_of(const char *reference, char *out, size_t size);

/* "20261126-131554": the UTC time stamp job names and image tags carry. */
void job_name_stamp(char out[16]);

#endif
