// deploy/monitoring: the PrometheusRule and the Grafana dashboard. Every PromQL expression parses
// with Prometheus's own PromQL grammar (@prometheus-io/lezer-promql, the parser of Prometheus's
// UI), every metric they name is exposed by a running operator, the dashboard is well-formed
// Grafana JSON, and both install through kustomize (deploy/components/monitoring) and the Helm
// chart (metrics.prometheusRule, metrics.dashboard) with the same content.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parser } from "@prometheus-io/lezer-promql";
import { expect } from "chai";
import * as yaml from "js-yaml";
import { classify } from "../../src/aws/faults.ts";
import { isReady, PASSWORD_1, passwordSpec, TestEnv } from "../integration/harness.ts";
import { helmTemplate } from "./helm.ts";
import { CHART, DEPLOY, find, type KubeObject, kustomize, only, schemaErrors } from "./manifests.ts";
import { withComponents } from "./rbac.ts";

type Json = Record<string, any>;

const MONITORING = join(DEPLOY, "monitoring");
const ruleText = readFileSync(join(MONITORING, "prometheusrule.yaml"), "utf8");
const rule = yaml.load(ruleText) as KubeObject;
const dashboardText = readFileSync(join(MONITORING, "dashboard.json"), "utf8");
const dashboard = JSON.parse(dashboardText) as Json;
const rules: Json[] = rule.spec.groups.flatMap((g: Json) => g.rules);

/** Series Prometheus makes itself (not exposed by any target). */
const SYNTHETIC = new Set(["up", "scrape_duration_seconds", "scrape_samples_scraped"]);

/** Grafana's interval variables stand for a duration; substituted before parsing, as Grafana does. */
function grafanaToPromql(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)/g, "5m");
}

/** The dashboard's queries: every panel target (rows included), and the variables' label_values selectors. */
function dashboardQueries(): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (panels: Json[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: grafanaToPromql(t.expr) });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list.filter((v: Json) => v.type === "query")) {
    const m = /^label_values\((.+),\s*\w+\)$/.exec(v.query.query);
    expect(m, `variable ${v.name}: label_values(selector, label)`).to.not.equal(null);
    out.push({ where: `variable ${v.name}`, expr: m![1]! });
  }
  return out;
}

const queries = [...rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr as string })), ...dashboardQueries()];

/** Parse errors of a PromQL expression ([] when it parses), and the metric names it selects. */
function parsePromql(expr: string): { errors: string[]; metrics: string[] } {
  const errors: string[] = [];
  const metrics: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError)
        errors.push(`parse error at ${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 20), node.from + 20))}`);
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector") metrics.push(expr.slice(node.from, node.to));
    },
  });
  return { errors, metrics };
}

/** The sample names of a Prometheus text exposition (histograms as _bucket, _sum, _count). */
function exposedNames(body: string): Set<string> {
  const names = new Set<string>();
  for (const line of body.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

describe("deploy/monitoring (dashboard and alerts)", () => {
  it("every PromQL expression of the alerts and the dashboard parses with Prometheus's grammar", () => {
    expect(queries.length).to.be.greaterThan(15);
    for (const { where, expr } of queries) expect(parsePromql(expr).errors, `${where}: ${expr}`).to.deep.equal([]);
    // The check itself finds errors.
    expect(parsePromql("sum(rate(x[5m])").errors).to.not.be.empty;
    expect(parsePromql("rate(x[$__rate_interval])").errors).to.not.be.empty;
  });

  it("has the alerts an SRE needs, each with a severity, a summary and a description that says what to do", () => {
    expect(rules.map((r) => r.alert)).to.have.members([
      "MemoryDBUserOperatorDown",
      "MemoryDBUserOperatorNoLeader",
      "MemoryDBUsersNotReady",
      "MemoryDBUserOperatorReconcileErrors",
      "MemoryDBUserOperatorAWSThrottled",
      "MemoryDBUserPasswordRotationOverdue",
    ]);
    for (const r of rules) {
      expect(r.labels.severity, r.alert).to.be.oneOf(["critical", "warning"]);
      expect(r.annotations.summary, r.alert).to.be.a("string");
      expect(r.annotations.description, r.alert).to.have.length.greaterThan(60);
      expect(r.for, r.alert).to.match(/^\d+m$/);
    }
    expect(rules.find((r) => r.alert === "MemoryDBUsersNotReady")!.for).to.equal("15m");
    expect(schemaErrors(rule)).to.deep.equal([]);
  });

  it("counts as throttling exactly error codes the operator classifies as transient", () => {
    const throttle = /outcome=~"([^"]+)"/.exec(rules.find((r) => r.alert === "MemoryDBUserOperatorAWSThrottled")!.expr)![1]!.split("|");
    for (const code of throttle) {
      expect(classify("DescribeUsers", { name: code, $metadata: { httpStatusCode: 400 } })?.kind, code).to.equal("transient");
    }
    // The dashboard's throttling panel uses the same set.
    expect(dashboardText).to.include(`outcome=~\\"${throttle.join("|")}\\"`);
  });

  it("the dashboard is well-formed Grafana JSON: unique panel ids, a grid layout, Prometheus targets, defined variables", () => {
    expect(dashboard).to.include.keys("title", "uid", "schemaVersion", "panels", "templating");
    expect(dashboard.uid).to.match(/^[a-zA-Z0-9_-]{1,40}$/);
    const ids = new Set<number>();
    const variables = new Set(dashboard.templating.list.map((v: Json) => v.name));
    expect(variables).to.include("datasource").and.include("job");
    for (const p of dashboard.panels) {
      expect(ids.has(p.id), `panel id ${p.id}`).to.equal(false);
      ids.add(p.id);
      const { x, y, w, h } = p.gridPos;
      for (const n of [x, y, w, h]) expect(n, p.title).to.be.a("number");
      expect(x + w, p.title).to.be.at.most(24);
      if (p.type === "row") continue;
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template string
      expect(p.datasource, p.title).to.deep.equal({ type: "prometheus", uid: "${datasource}" });
      expect(p.targets, p.title).to.not.be.empty;
      const refs = p.targets.map((t: Json) => t.refId);
      expect(new Set(refs).size, `${p.title} refIds`).to.equal(refs.length);
      for (const t of p.targets) {
        for (const used of t.expr.matchAll(/\$(?:\{(\w+)\}|(\w+))/g)) {
          const name = used[1] ?? used[2];
          if (!name.startsWith("__")) expect(variables, `${p.title}: $${name}`).to.include(name);
        }
      }
    }
    // Every group the issue asks for has a panel.
    const names = new Set(queries.flatMap((q) => parsePromql(q.expr).metrics));
    expect([...names]).to.include.members([
      "controller_runtime_reconcile_total",
      "controller_runtime_reconcile_errors_total",
      "controller_runtime_reconcile_time_seconds_bucket",
      "workqueue_depth",
      "memorydb_api_calls_total",
      "memorydb_operator_resources",
      "leader_election_master_status",
    ]);
  });

  describe("against a running operator", function () {
    this.timeout(60_000);
    let env: TestEnv;
    before(async () => {
      env = await TestEnv.start({ env: { LEADER_ELECT: "true", LEADER_ELECTION_NAMESPACE: "default" } });
      await env.createNamespace("mon");
      await env.createSecret("mon", "pw", { password: PASSWORD_1 });
      await env.createUser("mon", "watched", passwordSpec("pw"));
      await env.createUser("mon", "waiting", passwordSpec("missing"));
      await env.waitForUser("mon", "watched", isReady);
      await env.waitForUser("mon", "waiting", (u) => u.status?.conditions?.some((c) => c.reason === "SecretNotFound") ?? false);
    });
    after(async () => {
      await env?.stop();
    });

    it("exposes every metric the alerts and the dashboard name", async () => {
      const body = await (await fetch(`http://127.0.0.1:${env.app!.metricsPort}/metrics`)).text();
      const exposed = exposedNames(body);
      const named = new Set(queries.flatMap((q) => parsePromql(q.expr).metrics));
      const missing = [...named].filter((n) => !SYNTHETIC.has(n) && !exposed.has(n));
      expect(missing).to.deep.equal([]);
      // The gauge the not-Ready alert reads counts the two resources by their Ready reason.
      expect(body).to.match(
        /^memorydb_operator_resources\{resource_namespace="mon",condition="Ready",status="True",reason="Available"\} 1$/m,
      );
      expect(body).to.match(
        /^memorydb_operator_resources\{resource_namespace="mon",condition="Ready",status="False",reason="SecretNotFound"\} 1$/m,
      );
    });

    it("moves a resource out of the not-Ready series when it becomes Ready, and drops it when deleted", async () => {
      await env.createSecret("mon", "missing", { password: PASSWORD_1 });
      await env.waitForUser("mon", "waiting", isReady);
      const scrape = async () => (await fetch(`http://127.0.0.1:${env.app!.metricsPort}/metrics`)).text();
      await env.until("the gauge counts both as Ready", async () =>
        /^memorydb_operator_resources\{resource_namespace="mon",condition="Ready",status="True",reason="Available"\} 2$/m.test(
          await scrape(),
        ),
      );
      expect(await scrape()).to.not.match(/reason="SecretNotFound"/);
      await env.deleteUser("mon", "waiting");
      await env.until("the gauge counts one", async () =>
        /^memorydb_operator_resources\{resource_namespace="mon",condition="Ready",status="True",reason="Available"\} 1$/m.test(
          await scrape(),
        ),
      );
    });
  });

  describe("installs", () => {
    it("with kustomize: deploy/monitoring and the component give the PrometheusRule and the dashboard ConfigMap", () => {
      const objects = kustomize(MONITORING);
      expect(objects.flatMap(schemaErrors)).to.deep.equal([]);
      expect(only(objects, "PrometheusRule").spec).to.deep.equal(rule.spec);
      const cm = only(objects, "ConfigMap", "memorydb-user-operator-dashboard", "memorydb-system");
      expect(cm.metadata.labels).to.include({ grafana_dashboard: "1" });
      expect(JSON.parse(cm.data["memorydb-user-operator.json"])).to.deep.equal(dashboard);

      const all = withComponents(["servicemonitor", "monitoring"]);
      // The alerts' job is the metrics Service the ServiceMonitor scrapes.
      const service = only(all, "Service").metadata.name;
      expect(
        rules.every((r) => r.expr.includes(`job="${service}"`)),
        `job="${service}"`,
      ).to.equal(true);
      expect(find(all, "PrometheusRule")).to.have.length(1);
      expect(find(all, "ConfigMap", "memorydb-user-operator-dashboard")).to.have.length(1);
    });

    it("with Helm: off by default; on, the same rules with the release's metrics Service as the job, and the same dashboard", () => {
      const off = helmTemplate({ set: ["aws.region=us-east-1"] }).objects;
      expect(find(off, "PrometheusRule").concat(find(off, "ConfigMap"))).to.deep.equal([]);
      const { objects } = helmTemplate({
        release: "mon",
        set: [
          "aws.region=us-east-1",
          "metrics.prometheusRule.enabled=true",
          "metrics.prometheusRule.labels.release=kps",
          "metrics.dashboard.enabled=true",
        ],
        args: ["--strict"],
      });
      expect(objects.flatMap(schemaErrors)).to.deep.equal([]);
      const service = only(objects, "Service").metadata.name;
      const rendered = only(objects, "PrometheusRule");
      expect(rendered.metadata.labels).to.include({ release: "kps" });
      const expected = (yaml.load(ruleText.replaceAll('job="memorydb-user-operator-metrics"', `job="${service}"`)) as KubeObject).spec;
      expect(rendered.spec).to.deep.equal(expected);
      const cm = only(objects, "ConfigMap");
      expect(cm.metadata.labels).to.include({ grafana_dashboard: "1" });
      expect(JSON.parse(cm.data["memorydb-user-operator.json"])).to.deep.equal(dashboard);
    });

    it("the chart's files/monitoring/ are copies of deploy/monitoring (run deploy/sync.sh after changing them)", () => {
      for (const f of ["prometheusrule.yaml", "dashboard.json"]) {
        expect(readFileSync(join(CHART, "files", "monitoring", f), "utf8"), f).to.equal(readFileSync(join(MONITORING, f), "utf8"));
      }
    });
  });
});
