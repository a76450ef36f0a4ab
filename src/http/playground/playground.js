// The page at /: lists the loaded models (GET /model/registry), sends a picture to /infer/<task> with
// visualize_predictions, and shows the image the server drew beside its JSON. Public API only (README "Demo").
"use strict";

const TASKS = {
  "object-detection": { route: "/infer/object_detection", name: "object detection" },
  "instance-segmentation": { route: "/infer/instance_segmentation", name: "instance segmentation" },
  classification: { route: "/infer/classification", name: "classification" },
};

const $ = (id) => document.getElementById(id);
const state = { image: null, model: null };

function setStatus(text, isError = false) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

function apiKey() {
  return $("api-key").value.trim();
}

async function errorText(response) {
  try {
    return (await response.json()).message ?? response.statusText;
  } catch {
    return response.statusText;
  }
}

function selectModel(model) {
  state.model = model;
  const task = model.task_type;
  for (const el of document.querySelectorAll(".detection-only")) el.hidden = task === "classification";
  for (const el of document.querySelectorAll(".segmentation-only")) el.hidden = task !== "instance-segmentation";
  updateRunButton();
}

function updateRunButton() {
  $("run").disabled = !(state.model && state.image);
}

async function loadModels() {
  const query = apiKey() ? `?api_key=${encodeURIComponent(apiKey())}` : "";
  const response = await fetch(`/model/registry${query}`);
  if (response.status === 401) {
    $("api-key-row").hidden = false;
    $("models").innerHTML = '<p class="note">This server needs an API key: enter it, then leave the field.</p>';
    return;
  }
  if (!response.ok) {
    $("models").innerHTML = "";
    setStatus(`Cannot list the models: ${await errorText(response)}`, true);
    return;
  }
  const models = (await response.json()).models.filter((m) => m.task_type in TASKS);
  const list = $("models");
  list.innerHTML = "";
  if (models.length === 0) {
    list.innerHTML = '<p class="note">No model is loaded. Load one with <code>POST /model/add</code> (see the API documentation), then reload this page.</p>';
    return;
  }
  models.forEach((model, i) => {
    const label = document.createElement("label");
    label.className = "model";
    const radio = document.createElement("input");
    radio.type = "radio";
    radio.name = "model";
    radio.value = model.model_id;
    radio.addEventListener("change", () => selectModel(model));
    const name = document.createElement("span");
    name.textContent = model.model_id;
    const detail = document.createElement("small");
    detail.textContent = `${TASKS[model.task_type].name}, ${model.input_width}×${model.input_height}`;
    label.append(radio, name, detail);
    list.append(label);
    if (i === 0) {
      radio.checked = true;
      selectModel(model);
    }
  });
}

function setImage(blob) {
  const reader = new FileReader();
  reader.onload = () => {
    const url = String(reader.result);
    state.image = url.slice(url.indexOf(",") + 1);
    $("preview").src = url;
    $("preview").hidden = false;
    $("drop-text").textContent = "Drop another image, or click to pick one";
    updateRunButton();
  };
  reader.readAsDataURL(blob);
}

async function useExample() {
  const response = await fetch("/playground/example.jpg");
  if (!response.ok) return setStatus(`Cannot load the example picture: ${response.status}`, true);
  setImage(await response.blob());
}

/** The response as shown: the drawn image's base64 is replaced by its length, it is on the left already. */
function shownJson(body) {
  const shown = { ...body };
  if (typeof shown.visualization === "string") shown.visualization = `<base64 JPEG, ${shown.visualization.length} characters>`;
  return JSON.stringify(shown, null, 2);
}

async function run(event) {
  event.preventDefault();
  if (!state.model || !state.image) return;
  const task = state.model.task_type;
  const request = {
    model_id: state.model.model_id,
    image: { type: "base64", value: state.image },
    confidence: Number($("confidence").value),
    visualize_predictions: true,
  };
  if (task !== "classification") {
    request.iou_threshold = Number($("overlap").value);
    request.visualization_labels = $("labels").checked;
    request.visualization_stroke_width = 2;
  }
  if (task === "instance-segmentation") request.mask_decode_mode = $("mask-mode").value;
  if (apiKey()) request.api_key = apiKey();
  $("run").disabled = true;
  setStatus("Running…");
  try {
    const response = await fetch(TASKS[task].route, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
    if (!response.ok) return setStatus(`${response.status}: ${await errorText(response)}`, true);
    const body = await response.json();
    $("result-image").src = `data:image/jpeg;base64,${body.visualization}`;
    $("result-title").textContent = `Response of POST ${TASKS[task].route}`;
    $("result-json").textContent = shownJson(body);
    $("result").hidden = false;
    const found = task === "classification" ? `top class: ${body.top || "none"}` : `${body.predictions.length} predictions`;
    setStatus(`${found} in ${(body.time * 1000).toFixed(0)} ms`);
  } catch (error) {
    setStatus(`Request failed: ${error.message}`, true);
  } finally {
    updateRunButton();
  }
}

for (const [input, output] of [["confidence", "confidence-value"], ["overlap", "overlap-value"]]) {
  $(input).addEventListener("input", () => ($(output).textContent = Number($(input).value).toFixed(2)));
}
$("file").addEventListener("change", () => $("file").files[0] && setImage($("file").files[0]));
const zone = $("drop-zone");
zone.addEventListener("dragover", (event) => {
  event.preventDefault();
  zone.classList.add("over");
});
zone.addEventListener("dragleave", () => zone.classList.remove("over"));
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  zone.classList.remove("over");
  const file = event.dataTransfer.files[0];
  if (file) setImage(file);
});
$("use-example").addEventListener("click", useExample);
$("api-key").addEventListener("change", loadModels);
$("try").addEventListener("submit", run);
loadModels().catch((error) => setStatus(`Cannot list the models: ${error.message}`, true));
