/* plugins/common/aws_metadata.h: the credentials endpoints of containers
 * (ECS, EKS Pod Identity) and EC2 instances, read as botocore reads them.
 *
 * Container credentials come from AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 * (under http://169.254.170.2) or AWS_CONTAINER_CREDENTIALS_FULL_URI, with
 * the authorization token of AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read
 * anew each time, as EKS rotates it) or else AWS_CONTAINER_AUTHORIZATION_TOKEN.
 * Since the token travels with the request, the URI must be https or name a
 * loopback address (127.0.0.0/8, ::1, localhost) or the ECS or EKS one
 * (169.254.170.2, 169.254.170.23, fd00:ec2::23): the host as libcurl reads
 * it from the URI, which is the host it connects to, never a string prefix.
 * Instance credentials come from IMDSv2 at AWS_EC2_METADATA_SERVICE_ENDPOINT
 * (default http://169.254.169.254). */
#ifndef FAHR_AWS_METADATA_H
#define FAHR_AWS_METADATA_H

#include <stddef.h>

#include "fahr/plugin.h"

/* The JSON document the endpoint serves (at most `size` - 1 bytes):
 * FAHR_ENOTFOUND where none is configured or it gives none, FAHR_EINVAL
 * where the URI or the token is refused. */
int aws_container_credentials(const struct fahr_host *host, char *body, size_t size,
                              struct fahr_error *err);
int aws_instance_credentials(const struct fahr_host *host, char *body, size_t size,
                             struct fahr_error *err);

/* FAHR_OK where the container credentials endpoint may be sent a token at
 * `url` (see above), FAHR_EINVAL with the reason otherwise. */
int aws_container_uri_check(const char *url, struct fahr_error *err);
/* The token to send ("" for none), or FAHR_EINVAL when its file cannot be
 * read, it is too long, or it has a control character (a CR or LF would
 * end the Authorization header line). Messages name the file or variable,
 * never the token. */
int aws_container_token(char *out, size_t size, struct fahr_error *err);

#endif
