// `npm run e2e`: the end-to-end suite, against whatever cluster the kubeconfig points at and
// whatever MemoryDB its operator uses. See docs/e2e.md.
import { randomInt } from "node:crypto";
import { checkNothingLeft, type Env, Interrupted, removeUsers, runSelector, StepContext } from "./context.ts";
import { Cluster, GROUP, PLURAL, VERSION } from "./kube.ts";
import { namespaceManifest } from "./manifests.ts";
import { AwsView, EmulatorView, type MemoryDBView } from "./memorydb.ts";
import { type Options, parseOptions, UsageError, usage } from "./options.ts";
import { Redactor, Reporter } from "./report.ts";
import { STEPS, type Step } from "./steps.ts";

/** Knows every password generated, for everything printed, up to an unexpected crash. */
const redactor = new Redactor();

function randomPrefix(): string {
  const chars = "abcdefghijklmnopqrstuvwxyz0123456789";
  let s = "";
  for (let i = 0; i < 6; i++) s += chars[randomInt(chars.length)];
  return `e2e-${s}`;
}

const reasonOf = (err: unknown) => (err instanceof Interrupted ? "interrupted" : ((err as Error)?.message ?? String(err)));

/** A password in an Event or a status is a failure of the operator, whatever else passed. */
async function checkNoLeaks(ctx: StepContext): Promise<void> {
  for (const name of ctx.users.keys()) {
    const events = await ctx.cluster.events(ctx.ns, name);
    for (const e of events) {
      if (ctx.env.redactor.leaks(`${e.reason} ${e.message}`)) throw new Error(`a password appears in the ${e.reason} Event of ${name}`);
    }
    const user = await ctx.cluster.getUser(ctx.ns, name);
    if (user && ctx.env.redactor.leaks(JSON.stringify(user.status ?? {}))) throw new Error(`a password appears in the status of ${name}`);
  }
}

/** The step's own cleanups, then its MemoryDBUsers, then a look in MemoryDB. */
async function cleanUpStep(ctx: StepContext): Promise<void> {
  ctx.enterCleanup();
  const errors: string[] = [];
  while (ctx.cleanups.length > 0) {
    await ctx.cleanups.pop()!().catch((err: unknown) => errors.push(reasonOf(err)));
  }
  await removeUsers(ctx, [...ctx.users.keys()]).catch((err: unknown) => errors.push(reasonOf(err)));
  if (errors.length === 0) await checkNothingLeft(ctx, [...ctx.users.values()]).catch((err: unknown) => errors.push(reasonOf(err)));
  if (errors.length > 0) throw new Error(errors.join("; "));
}

async function runStep(env: Env, step: Step, report: Reporter): Promise<void> {
  const started = Date.now();
  const ctx = new StepContext(env, step.name);
  let failure: string | undefined;
  try {
    await step.run(ctx);
    await checkNoLeaks(ctx);
  } catch (err) {
    const reason = reasonOf(err);
    failure = env.runSignal.aborted && reason !== "interrupted" ? `interrupted (${reason})` : reason;
  }
  try {
    await cleanUpStep(ctx);
  } catch (err) {
    failure = `${failure ? `${failure}; ` : ""}cleanup: ${reasonOf(err)}`;
  }
  if (failure === undefined) report.pass(step.name, Date.now() - started);
  else report.fail(step.name, failure);
}

/** Whatever the steps left (a failed cleanup), then the Secrets, Events and the namespace. */
async function cleanUpRun(env: Env, createdNamespace: boolean, report: Reporter): Promise<void> {
  const started = Date.now();
  const ctx = new StepContext(env, "cleanup");
  ctx.enterCleanup();
  const { cluster, namespace, prefix } = env;
  try {
    const left = await cluster.listUsers(namespace, runSelector(prefix));
    for (const u of left) ctx.users.set(u.metadata.name, u.spec.userName ?? u.metadata.name);
    await removeUsers(ctx, [...ctx.users.keys()]);
    await checkNothingLeft(ctx, [...ctx.users.values()]);
    if (env.memorydb) {
      const stray = await env.memorydb.usersWithPrefix(prefix);
      if (stray.length > 0)
        throw new Error(
          `MemoryDB still has users of this run: ${stray.join(", ")} (the operator did not delete them; delete them by hand)`,
        );
    }
    if (createdNamespace) {
      await ctx.kubectl(["delete", "namespace", namespace, "--ignore-not-found", "--wait=false"]);
      // A cluster without a namespace controller (a bare kube-apiserver) keeps it Terminating
      // forever; everything of ours in it is gone already, so a bounded wait is enough.
      const bound = Date.now() + Math.min(env.timeoutMs, 15_000);
      while ((await cluster.namespace(namespace)) && Date.now() < bound) await new Promise((r) => setTimeout(r, 500));
      if (await cluster.namespace(namespace))
        report.line(`e2e: note: namespace ${namespace} is still terminating (deleted; the cluster removes it)`);
    } else {
      await ctx.kubectl(["delete", "secret", "-n", namespace, "-l", runSelector(prefix), "--ignore-not-found", "--wait=false"]);
      for (const e of await cluster.eventsWithPrefix(namespace, `${prefix}-`)) await cluster.deleteEvent(namespace, e);
    }
    report.pass("cleanup", Date.now() - started);
  } catch (err) {
    report.fail("cleanup", `${reasonOf(err)} (leftovers carry the label ${runSelector(prefix)} and the prefix ${prefix}; see docs/e2e.md)`);
  }
}

async function preflight(
  cluster: Cluster,
  view: MemoryDBView | undefined,
  opts: Options,
  namespace: string,
  prefix: string,
  signal: AbortSignal,
): Promise<boolean> {
  // The group's own discovery document: `kubectl api-resources` fails on a cluster where some
  // unrelated aggregated API (metrics-server, say) is down.
  const discovery = await cluster.kubectl(["get", "--raw", `/apis/${GROUP}/${VERSION}`], { signal, timeoutMs: 60_000 });
  let served = false;
  try {
    served =
      discovery.code === 0 &&
      ((JSON.parse(discovery.stdout) as { resources?: Array<{ name: string }> }).resources ?? []).some((r) => r.name === PLURAL);
  } catch {
    // not a discovery document: reported below
  }
  if (!served) {
    throw new Error(
      `the cluster does not serve ${PLURAL}.${GROUP}/${VERSION}: install the CRD (kubectl apply -f crds/) and the operator (${discovery.stderr.trim() || "not in discovery"})`,
    );
  }
  await view?.check();
  if (opts.namespace !== undefined) {
    const ns = await cluster.namespace(namespace);
    if (!ns) throw new Error(`--namespace: namespace ${namespace} does not exist`);
    if (ns.terminating) throw new Error(`--namespace: namespace ${namespace} is terminating`);
    return false;
  }
  const run = await cluster.apply([namespaceManifest(namespace, prefix)], { signal, timeoutMs: 60_000 });
  if (run.code !== 0) throw new Error(`cannot create namespace ${namespace}: ${run.stderr.trim()}`);
  return true;
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(
      process.argv.slice(2),
      STEPS.map((s) => s.name),
    );
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`e2e: ${err.message}\n\n${usage(STEPS)}`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(usage(STEPS));
    return 0;
  }

  const report = new Reporter(redactor);
  const prefix = randomPrefix();
  const namespace = opts.namespace ?? prefix;
  const run = new AbortController();
  const cleanup = new AbortController();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!interrupted) {
      interrupted = true;
      report.line(`e2e: ${signal}: stopping the steps and cleaning up (${signal} again stops the cleanup)`);
      run.abort();
    } else if (!cleanup.signal.aborted) {
      report.line(`e2e: ${signal} again: cleanup stopped; leftovers carry the label ${runSelector(prefix)} (see docs/e2e.md)`);
      cleanup.abort();
    } else {
      process.exit(130);
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  let cluster: Cluster;
  let view: MemoryDBView | undefined;
  try {
    cluster = new Cluster(opts.kubeconfig, opts.context);
    view = opts.emulatorUrl
      ? new EmulatorView(opts.emulatorUrl)
      : opts.awsRegion
        ? new AwsView(opts.awsRegion, opts.memorydbEndpoint)
        : undefined;
  } catch (err) {
    report.fail("preflight", reasonOf(err));
    report.summary();
    return 1;
  }
  report.line(
    `e2e: run ${prefix} against ${cluster.server}, namespace ${namespace}${opts.namespace ? " (given with --namespace)" : " (created for the run)"}`,
  );
  report.line(
    `e2e: MemoryDB checked through ${view ? view.description : "the Kubernetes resources only (no --emulator-url or --aws-region)"}`,
  );

  const env: Env = {
    cluster,
    memorydb: view,
    redactor,
    prefix,
    namespace,
    timeoutMs: opts.timeoutMs,
    secretLabels: opts.secretLabels,
    runSignal: run.signal,
    cleanupSignal: cleanup.signal,
  };
  let createdNamespace = false;
  try {
    createdNamespace = await preflight(cluster, view, opts, namespace, prefix, run.signal);
  } catch (err) {
    report.fail("preflight", reasonOf(err));
    // The namespace may exist even though the apply reported an error.
    if (opts.namespace === undefined && (await cluster.namespace(namespace).catch(() => undefined))) await cleanUpRun(env, true, report);
    report.summary();
    return interrupted ? 130 : 1;
  }

  const queue = STEPS.filter((s) => opts.steps === undefined || opts.steps.includes(s.name));
  const worker = async () => {
    for (let step = queue.shift(); step !== undefined; step = queue.shift()) {
      if (run.signal.aborted) {
        queue.unshift(step);
        return;
      }
      await runStep(env, step, report);
    }
  };
  await Promise.all(Array.from({ length: Math.min(opts.parallel, queue.length) }, worker));
  if (queue.length > 0) report.line(`e2e: not run (interrupted): ${queue.map((s) => s.name).join(", ")}`);
  await cleanUpRun(env, createdNamespace, report);
  report.summary();
  if (interrupted) return 130;
  return report.failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Not expected: still no password in the output.
    process.stderr.write(redactor.redact(`e2e: internal error: ${(err as Error)?.stack ?? String(err)}\n`));
    process.exit(1);
  },
);
