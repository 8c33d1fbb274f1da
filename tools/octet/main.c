/* octet command-line tool: dispatches `octet CMD ...` to one file per subcommand. A new
 * subcommand (quantize, compare, ...) is one row in k_commands and one cmd_*.c file. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const cli_command k_commands[] = {
    {"info", cmd_info, "describe a model: inputs, outputs, opsets, ops, parameters, subgraphs"},
    {"run", cmd_run, "run a model on .npy/.npz inputs, write the outputs as .npy"},
    {"bench", cmd_bench, "measure a model's latency and peak memory"},
    {"quantize", cmd_quantize, "quantize a model to int8: --mode dynamic or static"},
    {"compare", cmd_compare, "compare a quantized model with its float original on data (SQNR, top-1)"},
};
#define N_COMMANDS (sizeof k_commands / sizeof *k_commands)

static void usage(FILE *f) {
    fprintf(f,
            "usage: octet COMMAND [ARGS...]\n"
            "       octet --version | --help\n"
            "\n"
            "octet loads ONNX models and runs them, float32 and int8, on the CPU.\n"
            "\n"
            "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-10s %s\n", k_commands[i].name, k_commands[i].summary);
    fprintf(f, "\nRun 'octet COMMAND --help' for a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (cli_is_help(cmd) || strcmp(cmd, "help") == 0) {
        if (strcmp(cmd, "help") == 0 && argc > 2) {   /* "octet help run" = "octet run --help" */
            static char help_flag[] = "--help";
            char *help_argv[] = {argv[2], help_flag, NULL};
            for (size_t i = 0; i < N_COMMANDS; i++)
                if (strcmp(argv[2], k_commands[i].name) == 0) return k_commands[i].run(2, help_argv);
            return cli_error(CLI_USAGE, "unknown command '%s' (see 'octet --help')", argv[2]);
        }
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 || strcmp(cmd, "version") == 0) {
        printf("octet %s\n", octet_version());
        return CLI_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(cmd, k_commands[i].name) == 0) return k_commands[i].run(argc - 1, argv + 1);
    if (cmd[0] == '-') return cli_error(CLI_USAGE, "unknown option '%s' (see 'octet --help')", cmd);
    return cli_error(CLI_USAGE, "unknown command '%s' (see 'octet --help')", cmd);
}
