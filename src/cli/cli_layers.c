/*
 * cli_layers.c - clgan layers: every layer kind with its YAML keys, their types, ranges and
 * defaults, read from the kinds' own key tables (clgan_layer_kind_info): the single source of the model
 * language's layer reference. --markdown writes it as the page docs/model_language.md holds
 * (a test compares the two).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_layers(const cli_opts *o) {
    int md = opt_get(o, "--markdown") != NULL;
    if (md)
        printf("# The model language: layer kinds\n\n"
               "Written by `clgan layers --markdown` from the kinds' own key tables "
               "(`src/layers/`); a test fails when this page and the tables differ.\n\n"
               "A layer is `{type: KIND, key: value, ...}`, or the kind's name alone where it "
               "needs no key. Every layer may also have `name:` (a name later layers and "
               "checkpoints use) and `from:` (the name of the layer it reads, `input` for the "
               "network's or the block's input, or a list for a merge; the default is the "
               "layer before). A block is used as `{block: NAME, param: value, ...}`.\n");
    for (int k = 0; k < clgan_layer_kinds(); k++) {
        clgan_kind_info c;
        clgan_layer_kind_info(k, &c);
        char tr[sizeof c.traits];
        memcpy(tr, c.traits, sizeof tr);
        if (md) {
            if (tr[0] >= 'a' && tr[0] <= 'z') tr[0] = (char)(tr[0] - 'a' + 'A');
            printf("\n## %s\n\n%s.\n\n", c.name, tr);
            if (c.n_keys == 0) {
                printf("No keys.\n");
                continue;
            }
            printf("| key | type | range | default |\n|---|---|---|---|\n");
        } else {
            printf("%s%s  (%s)\n", k ? "\n" : "", c.name, tr);
            if (c.n_keys == 0) printf("  no keys\n");
        }
        for (int i = 0; i < c.n_keys; i++) {
            clgan_key_info key;
            clgan_layer_key_info(k, i, &key);
            const char *init = key.init_only ? " (initial values only)" : "";
            if (md)
                printf("| `%s` | %s | %s | %s%s |\n", key.name, key.type, key.range, key.def,
                       init);
            else
                printf("  %-16s %-36s %-18s %s%s\n", key.name, key.type, key.range, key.def,
                       init);
        }
    }
    return 0;
}
