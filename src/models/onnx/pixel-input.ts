// Pixel input: rewrites an image model so that it takes CHW pixels (8-bit, or 8.8 fixed point in 16 bits) and does
// its own conversion to the normalised float input it was exported with (docs/compatibility.md §4.1). Images then
// wait in the arena in a half or a quarter of the bytes, and on a GPU the host-to-device copy shrinks as much and the
// conversion runs on the device.
//
// The image input keeps its name and its dims; ahead of its former consumers come
//   Cast(float) -> Div(255 x level scale) [-> Sub(mean)] [-> Div(std)]
// which are the reference's float32 steps in its order (docs/compatibility.md §4), Sub and Div left out where the
// mean is 0 and the std 1. The layout stays planar: a Transpose from HWC would cost ONNX Runtime more than the
// planar writes cost the vision workers.
import { LEVEL_SCALE, type PixelEncoding } from "../input-encoding.ts";
import { fieldText, ProtoWriter, readFields, type ProtoField } from "./protobuf.ts";

// ONNX protobuf field numbers (onnx.proto).
const MODEL = { graph: 7 } as const;
const GRAPH = { node: 1, initializer: 5, input: 11, output: 12, valueInfo: 13 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5 } as const;
const ATTRIBUTE = { name: 1, i: 3, g: 6, graphs: 11, type: 20 } as const;
const ATTRIBUTE_TYPE = { int: 2 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE = { tensor: 1 } as const;
const TENSOR_TYPE = { elemType: 1, shape: 2 } as const;
const SHAPE = { dim: 1 } as const;
const DIM = { value: 1, param: 2 } as const;
const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9 } as const;
const ELEM_FLOAT = 1;
const ELEM_CODE: Record<PixelEncoding["element"], number> = { uint8: 2, uint16: 4 };

/** The image input as the model was exported: its name and dims (a dim parameter's name, "?" for an unnamed one). */
export interface ExportedInput {
  name: string;
  shape: (number | string)[];
}

export interface PixelInputModel {
  /** The rewritten model, whose image input is [batch, 3, height, width] of the encoding's element. */
  model: Uint8Array;
  /** The float32 [batch, 3, height, width] input it replaces. */
  exported: ExportedInput;
}

/**
 * `model` with its image input taken as pixels of `encoding` and normalised inside the graph; null when its image input
 * is not a float32 [batch, 3, height, width] tensor (then the model is served as it is). Throws on bytes that are not
 * an ONNX model.
 */
export function withPixelInput(model: Uint8Array, encoding: PixelEncoding): PixelInputModel | null {
  const modelFields = readFields(model);
  const graphField = modelFields.find((f) => f.field === MODEL.graph);
  if (!graphField) throw new Error("not an ONNX model: it has no graph");
  const graphFields = readFields(graphField.payload);
  const initializerNames = new Set(graphFields.filter((f) => f.field === GRAPH.initializer).map(tensorName));
  const inputField = graphFields.find((f) => f.field === GRAPH.input && !initializerNames.has(valueInfoName(f)));
  if (!inputField) return null;
  const image = imageInput(inputField);
  if (!image) return null;
  const outputs = graphFields.filter((f) => f.field === GRAPH.output).map(valueInfoName);
  if (outputs.includes(image.name)) return null;

  const taken = namesIn(graphFields);
  const fresh = (suffix: string): string => {
    let name = `${image.name}/pixel_input/${suffix}`;
    for (let n = 2; taken.has(name); n++) name = `${image.name}/pixel_input/${suffix}_${n}`;
    taken.add(name);
    return name;
  };
  const prefix = prefixNodes(image.name, encoding, fresh);

  const graph = new ProtoWriter();
  for (const node of prefix.nodes) graph.message(GRAPH.node, node);
  for (const f of graphFields) {
    if (f.field === GRAPH.node) graph.message(GRAPH.node, renameNodeInputs(f.payload, image.name, prefix.output));
    else if (f.field === GRAPH.input && f === inputField) graph.message(GRAPH.input, pixelValueInfo(image, encoding));
    else if (f.field === GRAPH.valueInfo && valueInfoName(f) === image.name) continue;
    else graph.raw(f);
  }
  for (const tensor of prefix.initializers) graph.message(GRAPH.initializer, tensor);

  const rewritten = new ProtoWriter();
  for (const f of modelFields) {
    if (f === graphField) rewritten.message(MODEL.graph, graph);
    else rewritten.raw(f);
  }
  return { model: rewritten.finish(), exported: { name: image.name, shape: image.dims.map(describeDim) } };
}

/** The image input's name and its four dims (encoded Dimension messages), or null unless it is float32 [N, 3, H, W]. */
function imageInput(valueInfo: ProtoField): { name: string; dims: ProtoField[] } | null {
  const fields = readFields(valueInfo.payload);
  const typeField = fields.find((f) => f.field === VALUE_INFO.type);
  const tensorField = typeField && readFields(typeField.payload).find((f) => f.field === TYPE.tensor);
  if (!tensorField) return null;
  const tensorType = readFields(tensorField.payload);
  const elemType = tensorType.find((f) => f.field === TENSOR_TYPE.elemType)?.varint;
  const shape = tensorType.find((f) => f.field === TENSOR_TYPE.shape);
  if (elemType !== BigInt(ELEM_FLOAT) || !shape) return null;
  const dims = readFields(shape.payload).filter((f) => f.field === SHAPE.dim);
  if (dims.length !== 4 || dimValue(dims[1]!) !== 3) return null;
  return { name: valueInfoName(valueInfo), dims };
}

/** The pixel input: the exported [N, 3, H, W] dims, the encoding's element. */
function pixelValueInfo(image: { name: string; dims: ProtoField[] }, encoding: PixelEncoding): ProtoWriter {
  const shape = new ProtoWriter();
  for (const dim of image.dims) shape.raw(dim);
  const tensorType = new ProtoWriter().varint(TENSOR_TYPE.elemType, ELEM_CODE[encoding.element]).message(TENSOR_TYPE.shape, shape);
  return new ProtoWriter().string(VALUE_INFO.name, image.name).message(VALUE_INFO.type, new ProtoWriter().message(TYPE.tensor, tensorType));
}

/** The conversion's nodes and constants; `output` is the float CHW tensor the model's own nodes now read. */
function prefixNodes(input: string, encoding: PixelEncoding, fresh: (suffix: string) => string): { nodes: ProtoWriter[]; initializers: ProtoWriter[]; output: string } {
  const nodes: ProtoWriter[] = [];
  const initializers: ProtoWriter[] = [];
  const node = (opType: string, inputs: string[], attributes: ProtoWriter[] = []): string => {
    const output = fresh(opType.toLowerCase());
    const proto = new ProtoWriter();
    for (const i of inputs) proto.string(NODE.input, i);
    proto.string(NODE.output, output).string(NODE.name, output).string(NODE.opType, opType);
    for (const a of attributes) proto.message(NODE.attribute, a);
    nodes.push(proto);
    return output;
  };
  const constant = (suffix: string, dims: number[], values: readonly number[]): string => {
    const name = fresh(suffix);
    const tensor = new ProtoWriter().packedVarints(TENSOR.dims, dims).varint(TENSOR.dataType, ELEM_FLOAT).string(TENSOR.name, name);
    initializers.push(tensor.bytes(TENSOR.rawData, new Uint8Array(Float32Array.from(values).buffer)));
    return name;
  };
  const channels = [1, 3, 1, 1];
  const float = node("Cast", [input], [new ProtoWriter().string(ATTRIBUTE.name, "to").varint(ATTRIBUTE.i, ELEM_FLOAT).varint(ATTRIBUTE.type, ATTRIBUTE_TYPE.int)]);
  // For 8.8 fixed point one Div by 255 x 256 stands for the reference's v / 255 (exact where v is a whole level).
  let output = node("Div", [float, constant("white", [], [255 * LEVEL_SCALE[encoding.element]])]);
  if (encoding.mean.some((m) => m !== 0)) output = node("Sub", [output, constant("mean", channels, encoding.mean)]);
  if (encoding.std.some((s) => s !== 1)) output = node("Div", [output, constant("std", channels, encoding.std)]);
  return { nodes, initializers, output };
}

/** A node with every input named `from` reading `to` instead, subgraphs (If, Loop, Scan bodies) included. */
function renameNodeInputs(node: Uint8Array, from: string, to: string): ProtoWriter {
  const out = new ProtoWriter();
  for (const f of readFields(node)) {
    if (f.field === NODE.input && fieldText(f) === from) out.string(NODE.input, to);
    else if (f.field === NODE.attribute) out.message(NODE.attribute, renameInAttribute(f.payload, from, to));
    else out.raw(f);
  }
  return out;
}

function renameInAttribute(attribute: Uint8Array, from: string, to: string): ProtoWriter {
  const out = new ProtoWriter();
  for (const f of readFields(attribute)) {
    if (f.field === ATTRIBUTE.g || f.field === ATTRIBUTE.graphs) out.message(f.field, renameInSubgraph(f.payload, from, to));
    else out.raw(f);
  }
  return out;
}

function renameInSubgraph(graph: Uint8Array, from: string, to: string): ProtoWriter {
  const out = new ProtoWriter();
  for (const f of readFields(graph)) {
    if (f.field === GRAPH.node) out.message(GRAPH.node, renameNodeInputs(f.payload, from, to));
    else out.raw(f);
  }
  return out;
}

/** Every value name the graph uses: node inputs and outputs, initializers, inputs, outputs. */
function namesIn(graphFields: ProtoField[]): Set<string> {
  const names = new Set<string>();
  for (const f of graphFields) {
    if (f.field === GRAPH.node) {
      for (const n of readFields(f.payload)) if (n.field === NODE.input || n.field === NODE.output || n.field === NODE.name) names.add(fieldText(n));
    } else if (f.field === GRAPH.initializer) names.add(tensorName(f));
    else if (f.field === GRAPH.input || f.field === GRAPH.output || f.field === GRAPH.valueInfo) names.add(valueInfoName(f));
  }
  return names;
}

function valueInfoName(valueInfo: ProtoField): string {
  const name = readFields(valueInfo.payload).find((f) => f.field === VALUE_INFO.name);
  return name ? fieldText(name) : "";
}

function tensorName(tensor: ProtoField): string {
  const name = readFields(tensor.payload).find((f) => f.field === TENSOR.name);
  return name ? fieldText(name) : "";
}

function dimValue(dim: ProtoField): number | null {
  const value = readFields(dim.payload).find((f) => f.field === DIM.value);
  return value ? Number(value.varint) : null;
}

function describeDim(dim: ProtoField): number | string {
  const fields = readFields(dim.payload);
  const value = fields.find((f) => f.field === DIM.value);
  if (value) return Number(value.varint);
  const param = fields.find((f) => f.field === DIM.param);
  return param ? fieldText(param) : "?";
}
