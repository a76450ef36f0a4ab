// Test helper: RF-DETR's box mapping (rfdetrBoxesToImage, which works on gathered corners) applied to candidates in place, as the tests read them.
import { rfdetrBoxesToImage, type RfdetrGeometry } from "../../../../src/models/families/rfdetr.ts";
import { gatherBoxes, type DetectionCandidates } from "../../../../src/vision/nms.ts";

export function placeCandidates(candidates: DetectionCandidates, geometry: RfdetrGeometry): void {
  const boxes = gatherBoxes(
    candidates,
    Int32Array.from({ length: candidates.count }, (_, i) => i),
  );
  rfdetrBoxesToImage(boxes, geometry);
  // The mapped corners are float32 values: storing them back is exact.
  for (let i = 0; i < candidates.count; i++) {
    candidates.x1[i] = boxes[4 * i]!;
    candidates.y1[i] = boxes[4 * i + 1]!;
    candidates.x2[i] = boxes[4 * i + 2]!;
    candidates.y2[i] = boxes[4 * i + 3]!;
  }
}
