/* plugins/common/aws_xml.c: see aws_xml.h. */
#include "aws_xml.h"

#include <expat.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct xml_builder {
    struct xml_node *root;
    struct xml_node *stack[64];
    int depth;
    bool failed;
};

static void xml_start(void *data, const char *name, const char **attributes)
{
    (void)attributes;
    struct xml_builder *b = data;
    struct xml_node *node = calloc(1, sizeof *node);
    const char *colon = strchr(name, ':');
    if (node == NULL || (node->name = strdup(colon ? colon + 1 : name)) == NULL ||
        b->depth >= 63) {
        if (node)
            free(node->name);
        free(node);
        b->failed = true;
        return;
    }
    if (b->depth == 0) {
        if (b->root == NULL)
            b->root = node;
        else {
            free(node->name);
            free(node);
            b->failed = true;
            return;
        }
    } else {
        struct xml_node *parent = b->stack[b->depth - 1];
        struct xml_node **slot = &parent->children;
        while (*slot)
            slot = &(*slot)->next;
        *slot = node;
    }
    b->stack[b->depth++] = node;
}

static void xml_end(void *data, const char *name)
{
    (void)name;
    struct xml_builder *b = data;
    if (b->depth > 0)
        b->depth--;
}

static void xml_chars(void *data, const char *text, int length)
{
    struct xml_builder *b = data;
    if (b->depth == 0 || b->failed)
        return;
    struct xml_node *node = b->stack[b->depth - 1];
    size_t old = node->text ? strlen(node->text) : 0;
    char *grown = realloc(node->text, old + (size_t)length + 1);
    if (grown == NULL) {
        b->failed = true;
        return;
    }
    memcpy(grown + old, text, (size_t)length);
    grown[old + (size_t)length] = '\0';
    node->text = grown;
}

struct xml_node *xml_parse(const char *text, size_t length)
{
    XML_Parser parser = XML_ParserCreate("UTF-8");
    if (parser == NULL)
        return NULL;
    struct xml_builder builder = {0};
    XML_SetUserData(parser, &builder);
    XML_SetElementHandler(parser, xml_start, xml_end);
    XML_SetCharacterDataHandler(parser, xml_chars);
    bool ok = XML_Parse(parser, text, (int)length, 1) == XML_STATUS_OK;
    XML_ParserFree(parser);
    if (!ok || builder.failed) {
        xml_free(builder.root);
        return NULL;
    }
    return builder.root;
}

void xml_free(struct xml_node *node)
{
    while (node != NULL) {
        struct xml_node *next = node->next;
        xml_free(node->children);
        free(node->name);
        free(node->text);
        free(node);
        node = next;
    }
}

static const struct xml_node *find_descendant(const struct xml_node *node, const char *name,
                                              size_t length)
{
    for (const struct xml_node *child = node ? node->children : NULL; child; child = child->next) {
        if (strlen(child->name) == length && strncmp(child->name, name, length) == 0)
            return child;
        const struct xml_node *deeper = find_descendant(child, name, length);
        if (deeper != NULL)
            return deeper;
    }
    return NULL;
}

const struct xml_node *xml_find(const struct xml_node *node, const char *path)
{
    while (node != NULL && *path) {
        size_t length = strcspn(path, "/");
        node = find_descendant(node, path, length);
        path += length;
        if (*path == '/')
            path++;
    }
    return node;
}

const char *xml_text(const struct xml_node *node, const char *path)
{
    const struct xml_node *found = xml_find(node, path);
    return found && found->text ? found->text : NULL;
}
