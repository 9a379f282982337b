/* plugins/train-sagemaker/job_status.c: what fahr shows of a job beyond its
 * state: the secondary status with SageMaker's message, as the SDK shows
 * it, and where the job is in the console and in CloudWatch Logs. */
#include <stdio.h>
#include <string.h>

#include "sagemaker.h"

void sagemaker_status_detail(json_t *job, char *out, size_t size)
{
    const char *secondary = json_string_value(json_object_get(job, "SecondaryStatus"));
    json_t *transitions = json_object_get(job, "SecondaryStatusTransitions");
    json_t *last = json_array_get(transitions, json_array_size(transitions) - 1);
    const char *status = json_string_value(json_object_get(last, "Status"));
    const char *message = json_string_value(json_object_get(last, "StatusMessage"));
    char shown_status[64], shown_message[200];
    aws_printable(secondary ? secondary : "", shown_status, sizeof shown_status);
    /* The message belongs to the status only where the last transition is
     * the status's own (an answer may lag behind the other). */
    if (secondary == NULL || status == NULL || message == NULL || message[0] == '\0' ||
        strcmp(status, secondary) != 0) {
        snprintf(out, size, "%s", shown_status);
        return;
    }
    aws_printable(message, shown_message, sizeof shown_message);
    snprintf(out, size, "%s: %s", shown_status, shown_message);
}

/* The console's host for the region's partition. */
static const char *console_host(const char *region)
{
    if (strncmp(region, "cn-", 3) == 0)
        return "console.amazonaws.cn";
    if (strncmp(region, "us-gov-", 7) == 0)
        return "console.amazonaws-us-gov.com";
    return "console.aws.amazon.com";
}

void sagemaker_log_urls(struct sagemaker *sm, const char *job_id)
{
    const char *region = sm->client.region, *host = console_host(region);
    sm->host->log(FAHR_LOG_INFO, "console: https://%s.%s/sagemaker/home?region=%s#/jobs/%s",
                  region, host, region, job_id);
    sm->host->log(FAHR_LOG_INFO,
                  "logs: https://%s.%s/cloudwatch/home?region=%s#logStream:group=/aws/sagemaker/"
                  "TrainingJobs;prefix=%s;streamFilter=typeLogStreamPrefix",
                  region, host, region, job_id);
}
