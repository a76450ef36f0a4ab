// Specification of deploy/kubernetes/: every manifest valid against the Kubernetes API schemas, and wired to each other.
import { describe, expect, test } from "bun:test";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { Deployment } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { ConfigMap, PersistentVolumeClaim, Service } from "kubernetes-models/v1";
import { ServerMetrics } from "../../../src/pipeline/metrics.ts";

const DIR = join(import.meta.dir, "../../../deploy/kubernetes");
const read = (file: string) => Bun.YAML.parse(readFileSync(join(DIR, file), "utf8")) as any;

/** The API schema each kind is checked against (kubernetes-models: the OpenAPI schemas of the Kubernetes API). */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  "apps/v1 Deployment": Deployment,
  "v1 Service": Service,
  "v1 PersistentVolumeClaim": PersistentVolumeClaim,
  "v1 ConfigMap": ConfigMap,
  "policy/v1 PodDisruptionBudget": PodDisruptionBudget,
  "autoscaling/v2 HorizontalPodAutoscaler": HorizontalPodAutoscaler,
};

const manifests = readdirSync(DIR).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");

describe("deploy/kubernetes", () => {
  for (const file of manifests) {
    test(`${file} is valid against the Kubernetes API schema of its kind`, () => {
      const manifest = read(file);
      const model = MODELS[`${manifest.apiVersion} ${manifest.kind}`];
      expect(model, `${file}: no schema for ${manifest.apiVersion} ${manifest.kind}`).toBeDefined();
      expect(() => new model!(manifest).validate()).not.toThrow();
    });
  }

  test("the schema check rejects a broken manifest (it is not a check that cannot fail)", () => {
    const broken = read("deployment.yaml");
    broken.spec.template.spec.containers[0].ports[0].containerPort = "http";
    expect(() => new Deployment(broken).validate()).toThrow(/containerPort/);
  });

  test("the kustomization lists every manifest but the adapter's rules, and only existing files", () => {
    const kustomization = read("kustomization.yaml");
    expect(kustomization.kind).toBe("Kustomization");
    expect([...kustomization.resources].sort()).toEqual(manifests.filter((f) => f !== "prometheus-adapter-rules.yaml").sort());
  });

  test("the deployment asks for a GPU, probes /healthz and /readiness on the served port, and pre-warms its cache from the shared one", () => {
    const deployment = read("deployment.yaml");
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(container.resources.limits["nvidia.com/gpu"]).toBeDefined();
    expect(container.livenessProbe.httpGet.path).toBe("/healthz");
    expect(container.readinessProbe.httpGet.path).toBe("/readiness");
    const port = container.ports.find((p: any) => p.name === container.readinessProbe.httpGet.port);
    expect(port.containerPort).toBe(9001);
    const volume = (name: string) => pod.volumes.find((v: any) => v.name === name);
    const serverCache = container.volumeMounts.find((m: any) => m.mountPath === "/tmp/cache").name;
    const warm = pod.initContainers[0];
    const mountedAt = (path: string) => warm.volumeMounts.find((m: any) => m.mountPath === path)?.name;
    expect(warm.command.join(" ")).toContain("cp -R /shared-cache/. /tmp/cache/");
    expect(mountedAt("/tmp/cache")).toBe(serverCache);
    expect(volume(mountedAt("/shared-cache")).persistentVolumeClaim.claimName).toBe(read("model-cache-pvc.yaml").metadata.name);
  });

  test("the service, the disruption budget and the autoscaler select and scale that deployment", () => {
    const deployment = read("deployment.yaml");
    const podLabels = deployment.spec.template.metadata.labels;
    const matches = (selector: Record<string, string>) => Object.entries(selector).every(([k, v]) => podLabels[k] === v);
    expect(matches(read("service.yaml").spec.selector)).toBe(true);
    expect(matches(read("pdb.yaml").spec.selector.matchLabels)).toBe(true);
    const hpa = read("hpa.yaml");
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: "Deployment", name: deployment.metadata.name });
  });

  test("the autoscaler's queue-depth metric is one the server exports and the adapter rule publishes", () => {
    const metric = read("hpa.yaml").spec.metrics[0].pods.metric.name;
    const exposition = new ServerMetrics().toPrometheus({ models: [{ key: "m/1", queued: 3, slotsInUse: 5, slots: 64, arenaBytes: 0 }], visionWorkerRestarts: 0, threads: [] });
    expect(exposition).toContain(`${metric}{model_id="m/1"} 8`);
    expect(read("prometheus-adapter-rules.yaml").data["config.yaml"]).toContain(metric);
  });
});
