/*
 * yaml_tree.h - private to src/model/: the model file as a tree of YAML nodes with positions
 * (yaml_tree.c builds it with libyaml's event API), the parse context, and the schema helpers
 * that check a mapping's keys and values and report file:line:col. model_yaml.c reads the
 * sections with them, model_graph.c a network's layers, names, inputs and blocks.
 */
#ifndef CLGAN_YAML_TREE_H
#define CLGAN_YAML_TREE_H

#include "model.h"

#define YAML_MAX_BYTES (4L << 20)
#define YAML_MAX_NODES 100000
#define YAML_MAX_DEPTH 64

enum { Y_SCALAR, Y_SEQ, Y_MAP };

typedef struct ynode {
    int type;
    int line, col;
    int plain; /* scalar written without quotes */
    char *val;
    struct ynode **kids; /* map: key, value, key, value ... */
    int n, cap;
} ynode;

typedef struct block_def block_def;

typedef struct yctx {
    clgan_model *m;
    const char *path;
    int nodes;
    const shape3 *data_shape; /* known shape: the data file is not opened */
    int data_optional;        /* model_load_shapes: an unreadable data file is no error */
    /* the top level's `blocks:`, and the expansion of a network under way */
    block_def *blocks;
    int n_blocks;
    int use_line, use_col;    /* the outermost block use being expanded (0: none) */
    const char *in_block;     /* the innermost block being expanded */
    const char *active[YAML_MAX_DEPTH]; /* the blocks being expanded, outermost first */
    int n_active;
    layer_spec *out;          /* the network's layers as expanded so far */
    int n_out, cap_out;
} yctx;

/* The error "PATH:LINE:COL: message" on the model (inside a block's expansion: the outermost
 * use's position first, then the line in the block); returns st. */
clgan_status yerr_at(yctx *c, int line, int col, clgan_status st, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
#define yerr(c, node, ...) yerr_at((c), (node)->line, (node)->col, CLGAN_ERR_YAML, __VA_ARGS__)

void ynode_free(ynode *n);
/* Appends kid to parent's children; -1 when out of memory. */
int ynode_add(ynode *parent, ynode *kid);
/* "a mapping", "a list" or "a scalar". */
const char *ytype_name(const ynode *n);
/* The tree of one YAML document (NULL for an empty one). */
clgan_status parse_tree(yctx *c, const char *text, size_t len, ynode **root);

/* ---- schema helpers ------------------------------------------------------------------------ */

typedef struct yfield {
    const char *key;
    const ynode *key_node;
    const ynode *val;
} yfield;

#define Y(k) {(k), NULL, NULL}

yfield *fget(yfield *f, int nf, const char *key);
/* Matches a mapping's keys against the allowed set: unknown and duplicate keys are errors. */
clgan_status y_fields(yctx *c, const ynode *map, const char *where, yfield *f, int nf);
clgan_status y_require(yctx *c, const ynode *map, yfield *f, int nf, const char *key,
                       const char *where);
clgan_status y_scalar(yctx *c, const yfield *fl, const char *where, const char *expected);
clgan_status y_int(yctx *c, const yfield *fl, const char *where, long lo, long hi, long *out);
clgan_status y_u64(yctx *c, const yfield *fl, const char *where, uint64_t *out);
clgan_status y_num(yctx *c, const yfield *fl, const char *where, double lo, int lo_open,
                   double hi, int hi_open, float *out);
clgan_status y_enum(yctx *c, const yfield *fl, const char *where, const char *const *names,
                    int n, int *out);
clgan_status y_only(yctx *c, yfield *f, int nf, const char *key, const char *applies,
                    const char *actual);

#define NF(a) ((int)ARRAY_LEN(a))
#define TRY(x)                                                                                     \
    do {                                                                                           \
        clgan_status st_ = (x);                                                                    \
        if (st_ != CLGAN_OK) return st_;                                                           \
    } while (0)
#define HAS(f, key) (fget((f), NF(f), (key))->val != NULL)
#define FLD(f, key) fget((f), NF(f), (key))

/* ---- layers and networks ------------------------------------------------------------------- */

/*
 * A layer: a kind's name alone, or a mapping of `type` and the keys of its class, with `name`
 * and `from` (into *name_node and *from_node, NULL where absent; with name_node NULL they are
 * refused: a layer outside a network). model_layer.c.
 */
clgan_status parse_layer(yctx *c, const ynode *n, layer_spec *L, const ynode **name_node,
                         const ynode **from_node);
/* `blocks:` at the top level (model_graph.c). */
clgan_status parse_blocks(yctx *c, const ynode *n);
/* A network's `layers:`, its blocks expanded and its inputs resolved (model_graph.c). */
clgan_status parse_net(yctx *c, const ynode *n, const char *which, net_spec *net);

#endif /* CLGAN_YAML_TREE_H */
