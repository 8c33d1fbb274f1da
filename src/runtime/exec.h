/* Plans and runs a graph. A plan is made once per graph (and once per subgraph of If/Loop):
 * value slots, topological order, constant folding, kernel prepare (weight packing), and the
 * point after which each intermediate value can be freed. Running a plan only executes kernels. */
#ifndef OT_EXEC_H
#define OT_EXEC_H

#include "ir/graph.h"
#include "ops/op.h"

typedef struct ot_plan ot_plan;
typedef struct ot_frame ot_frame;
struct ot_step;

/* What a kernel sees of the run in progress. */
typedef struct ot_exec {
    const ot_plan *plan;
    const ot_frame *frame;
    const struct ot_step *step;
} ot_exec;

typedef struct ot_plan_options {
    int threads;          /* >= 1 */
    bool fold_constants;  /* run nodes whose inputs are all constant once, at plan time */
    bool profile;         /* time every step of this plan (not of subplans) */
} ot_plan_options;

/* parent: the enclosing plan for a subgraph (outer-scope names resolve there), else NULL. */
octet_status ot_plan_create(ot_plan **out, const octet_model *m, const ot_graph *g, ot_plan *parent,
                            const ot_plan_options *opts);
void ot_plan_free(ot_plan *p);

int ot_plan_input_count(const ot_plan *p);
int ot_plan_output_count(const ot_plan *p);

/* Called after every node with each value it produced (main graph and subgraphs; names are unique
 * per graph, and `depth` is 0 for the main graph). Used by shape probing, calibration observers and
 * per-layer comparison. The tensor is only valid during the call. */
typedef struct ot_run_hooks {
    void (*on_value)(void *ctx, int depth, const ot_node *producer, const char *name, const octet_tensor *t);
    void *ctx;
} ot_run_hooks;

/* Like ot_plan_run, with hooks (NULL = none). */
octet_status ot_plan_run_hooked(const ot_plan *p, const ot_frame *outer, const octet_tensor *const *inputs, int n_in,
                                octet_tensor *outputs, int n_out, const ot_run_hooks *hooks);

/* Run. inputs bind to the graph's inputs in order (NULL = use the initializer of that name, if any).
 * outputs[i] are empty tensor structs the run fills (owned data). outer: the enclosing run's frame
 * for a subgraph, else NULL. */
octet_status ot_plan_run(const ot_plan *p, const ot_frame *outer, const octet_tensor *const *inputs, int n_in,
                         octet_tensor *outputs, int n_out);

/* For control-flow kernels: run the subgraph held in the node's graph attribute `attr`. */
octet_status ot_exec_run_subgraph(const ot_kernel *k, const char *attr, const octet_tensor *const *inputs, int n_in,
                                  octet_tensor *outputs, int n_out);
/* Input/output counts of that subgraph; -1 if the node has no such attribute. */
int ot_exec_subgraph_inputs(const ot_kernel *k, const char *attr);
int ot_exec_subgraph_outputs(const ot_kernel *k, const char *attr);

/* Per-step times of a plan made with opts.profile (in run order); returns the step count (0 if not
 * profiled) and fills up to cap entries. */
int ot_plan_profile(const ot_plan *p, octet_node_profile *out, int cap);
void ot_plan_profile_reset(ot_plan *p);

/* The session's graph rewrites (session.c), for tools that build their own plan. */
octet_status ot_session_optimize(octet_model *m, bool layout_passes);

#endif
