// Specification of the Roboflow API protocol (docs/compatibility.md §3.1-3.2): the `ort` and `getWeights` URLs and answers, the
// reference's statuses for the API's refusals, and the settings that point at the API.
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../../../src/config.ts";
import { parseModelId, type InstantModelId, type VersionedModelId } from "../../../../src/models/model-id.ts";
import { apiStatusError, describeGetWeights, describeOrt, getWeightsUrl, modelTypeOf, ortUrl, redactUrl, usableKey } from "../../../../src/models/roboflow/api.ts";

const versioned = (raw: string) => parseModelId(raw) as VersionedModelId;
const instant = (raw: string) => parseModelId(raw) as InstantModelId;

describe("the ort request", () => {
  test("is the reference's URL, with the key last and omitted when absent or `local`", () => {
    expect(ortUrl("https://api.roboflow.com", versioned("bccd-i4nym/1"), "k3y", "host-1")).toBe(
      "https://api.roboflow.com/ort/bccd-i4nym/1?nocache=true&device=host-1&dynamic=true&api_key=k3y",
    );
    expect(ortUrl("https://api.roboflow.com/", versioned("coco/3"), null, "h")).toBe("https://api.roboflow.com/ort/coco/3?nocache=true&device=h&dynamic=true");
    expect(ortUrl("https://api.roboflow.com", versioned("coco/3"), "local", "h")).not.toContain("api_key");
    expect(ortUrl("http://127.0.0.1:8080/v2", versioned("My Project/3"), "a+b/c=", "h")).toBe(
      "http://127.0.0.1:8080/v2/ort/My%20Project/3?nocache=true&device=h&dynamic=true&api_key=a%2Bb%2Fc%3D",
    );
    expect(usableKey("  ")).toBeNull();
    expect(usableKey(" k ")).toBe("k");
  });

  test("logs without query strings", () => {
    expect(redactUrl("https://api.roboflow.com/ort/a/1?api_key=secret&x=1")).toBe("https://api.roboflow.com/ort/a/1");
    expect(redactUrl("https://storage.googleapis.com/b/w.onnx?X-Goog-Signature=abc")).toBe("https://storage.googleapis.com/b/w.onnx");
  });

  test("defaults the model type per task as the reference does", () => {
    expect(modelTypeOf("classification", "ort")).toEqual({ taskType: "classification", modelType: "vit" });
    expect(modelTypeOf(undefined, undefined)).toEqual({ taskType: "object-detection", modelType: "yolov5v2s" });
    expect(modelTypeOf("instance-segmentation", "yolov8s-seg")).toEqual({ taskType: "instance-segmentation", modelType: "yolov8s-seg" });
  });

  test("reads an `ort` answer, refusing one without the keys the reference requires", () => {
    const ort = { type: "classification", modelType: "resnet50", model: "https://s/w.onnx", environment: "https://s/env.json", classes: ["a", "b"], colors: { a: "#FF0000" } };
    expect(describeOrt({ ort })).toEqual({
      taskType: "classification",
      modelType: "resnet50",
      weightsUrl: "https://s/w.onnx",
      environment: "https://s/env.json",
      classes: ["a", "b"],
      colors: { a: "#FF0000" },
    });
    expect(() => describeOrt({})).toThrow("Model package is broken. Could not find `ort` key");
    expect(() => describeOrt({ ort: { ...ort, model: undefined } })).toThrow("Could not find `model` key");
    expect(() => describeOrt({ ort: { ...ort, environment: undefined } })).toThrow("Could not find `environment` key");
  });
});

describe("the getWeights request (instant models)", () => {
  test("is the reference's URL: the whole id as `model`, the key last and omitted when absent or `local`", () => {
    expect(getWeightsUrl("https://api.roboflow.com/", instant("my-instant-model"), "k3y")).toBe("https://api.roboflow.com/getWeights?model=my-instant-model&api_key=k3y");
    expect(getWeightsUrl("https://api.roboflow.com", instant("workspace/My Model"), null)).toBe("https://api.roboflow.com/getWeights?model=workspace%2FMy+Model");
    expect(getWeightsUrl("https://api.roboflow.com", instant("m"), "local")).toBe("https://api.roboflow.com/getWeights?model=m");
  });

  test("reads the answer: task from `taskType`, weights from `modelFiles.ort.model`, the environment inline", () => {
    const environment = { PREPROCESSING: { resize: { enabled: true, format: "Stretch to", width: 64, height: 64 } } };
    const answer = {
      taskType: "instance-segmentation",
      modelType: "yolov8n-seg",
      modelFiles: { ort: { model: "https://s/w.onnx" } },
      environment,
      classes: ["x"],
      colors: { x: "#00FF00" },
    };
    expect(describeGetWeights(answer)).toEqual({
      taskType: "instance-segmentation",
      modelType: "yolov8n-seg",
      weightsUrl: "https://s/w.onnx",
      environment,
      classes: ["x"],
      colors: { x: "#00FF00" },
    });
    // The reference's defaults when the API names no task or model type.
    expect(describeGetWeights({ modelFiles: { ort: { model: "u" } }, environment: {} })).toMatchObject({ taskType: "object-detection", modelType: "yolov5v2s" });
    for (const broken of [{ environment }, { modelFiles: {}, environment }, { modelFiles: { ort: {} }, environment }]) {
      expect(() => describeGetWeights(broken)).toThrow("Model package is broken. Could not find `modelFiles` key or `modelFiles`.`ort` or `modelFiles`.`ort`.`model` key");
    }
    expect(() => describeGetWeights({ modelFiles: { ort: { model: "u" } } })).toThrow("Could not find `environment` key");
    expect(() => describeGetWeights({ modelFiles: { ort: { model: "u" } }, environment: "https://s/env.json" })).toThrow("Could not find `environment` key");
  });
});

describe("the API's errors", () => {
  test("maps the API's answers to the reference's statuses and messages", () => {
    expect(apiStatusError(401).status).toBe(401);
    expect(apiStatusError(401).message).toStartWith("Unauthorized access to roboflow API - check API key and make sure the key is valid for workspace you use.");
    expect(apiStatusError(403).message).toStartWith("Unauthorized access to roboflow API - check API key and make sure the key is valid and have required scopes.");
    expect(apiStatusError(404).message).toBe("Requested Roboflow resource not found. Make sure that workspace, project or model you referred in request exists.");
    expect([apiStatusError(402).status, apiStatusError(423).status, apiStatusError(500).status, apiStatusError(302).status]).toEqual([402, 423, 502, 502]);
    expect(apiStatusError(500).message).toBe("Internal error. Request to Roboflow API failed.");
  });
});

describe("settings", () => {
  test("API_BASE_URL defaults to the public API and loses its trailing slash; ROBOFLOW_API_KEY wins over API_KEY", () => {
    const defaults = loadConfig({}).roboflow;
    expect(defaults.apiBaseUrl).toBe("https://api.roboflow.com");
    expect(defaults.roboflowApiKey).toBe("");
    expect(defaults.roboflowApiTimeoutMs).toBe(120_000);
    const set = loadConfig({ API_BASE_URL: "http://127.0.0.1:9/api/", API_KEY: "a", ROBOFLOW_API_KEY: "r", ROBOFLOW_API_REQUEST_TIMEOUT: "5" }).roboflow;
    expect([set.apiBaseUrl, set.roboflowApiKey, set.roboflowApiTimeoutMs]).toEqual(["http://127.0.0.1:9/api", "r", 5000]);
    expect(loadConfig({ API_KEY: "a" }).roboflow.roboflowApiKey).toBe("a");
    expect(() => loadConfig({ API_BASE_URL: "ftp://x" })).toThrow("API_BASE_URL");
    expect(() => loadConfig({ API_BASE_URL: "https://x/?api_key=1" })).toThrow("API_BASE_URL");
    expect(() => loadConfig({ ROBOFLOW_API_REQUEST_TIMEOUT: "0" })).toThrow("ROBOFLOW_API_REQUEST_TIMEOUT");
  });
});
