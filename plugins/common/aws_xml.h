/* plugins/common/aws_xml.h: a tiny DOM for AWS's XML answers, read with
 * expat. */
#ifndef FAHR_AWS_XML_H
#define FAHR_AWS_XML_H

#include <stddef.h>

struct xml_node {
    char *name;
    char *text;
    struct xml_node *children, *next;
};

/* NULL where `text` is not well-formed XML. */
struct xml_node *xml_parse(const char *text, size_t length);
void xml_free(struct xml_node *node);
/* The first descendant along "A/B/C" (names without namespace). */
const struct xml_node *xml_find(const struct xml_node *node, const char *path);
const char *xml_text(const struct xml_node *node, const char *path);

#endif
