// Keypoint detection outputs: YOLOv8/v11 pose (channel-major, through NMS) and YOLO26 pose (end-to-end rows) into candidates and where their keypoints are (spec §4.3, §4.4).
import { KEYPOINT_VALUES, type KeypointLayout } from "../../vision/keypoints.ts";
import type { DetectionCandidates } from "../../vision/nms.ts";
import { YOLO26_BOX_COLUMNS, decodeYolo26Rows } from "./yolo26-rows.ts";
import { decodeYolov8Detections } from "./yolov8.ts";

/** Confidence-filtered candidates of a pose output, and where to find their keypoint triplets (keypoints.ts `gatherKeypoints`). */
export interface PoseCandidates {
  candidates: DetectionCandidates;
  keypoints: KeypointLayout;
}

/**
 * Keypoints per anchor of a YOLOv8/v11 pose output with `channels` rows (4 + C + 3 · Kp), checked
 * as the reference checks the package at load (spec §4.1): the keypoint count must be the largest
 * one in keypoints_metadata.json (K_max), i.e. channels - 4 - 3 · K_max = C. Throws otherwise.
 */
export function yolov8PoseKeypointCount(channels: number, numClasses: number, maxKeypoints: number): number {
  const keypointValues = channels - 4 - numClasses;
  if (keypointValues !== KEYPOINT_VALUES * maxKeypoints) {
    throw new Error(
      `a pose output of ${channels} channels holds ${keypointValues} keypoint values after 4 box and ${numClasses} class rows; ` +
        `keypoints_metadata.json's largest class has ${maxKeypoints} keypoints (${KEYPOINT_VALUES * maxKeypoints} values)`,
    );
  }
  return maxKeypoints;
}

/**
 * YOLOv8/v11 pose: rows of `output` are cx, cy, w, h, one score row per class, then the 3 · Kp
 * keypoint rows (x, y, visibility per keypoint, input pixels), each `numAnchors` long. The box and
 * class rows decode exactly as YOLOv8 detection's (yolov8.ts: score = max class score, first argmax,
 * inclusive float32 threshold, float32 corners); the candidates then go through the contract NMS
 * (nms.ts `nonMaxSuppression`), and the survivors' keypoints are gathered by their anchor.
 */
export function decodeYolov8Pose(output: Float32Array, numClasses: number, numAnchors: number, numKeypoints: number, confidence: number): PoseCandidates {
  const needed = (4 + numClasses + KEYPOINT_VALUES * numKeypoints) * numAnchors;
  if (output.length < needed) {
    throw new Error(`YOLOv8 pose output holds ${output.length} values, ${needed} needed for ${numClasses} classes and ${numKeypoints} keypoints × ${numAnchors} anchors`);
  }
  return {
    candidates: decodeYolov8Detections(output, numClasses, numAnchors, confidence),
    keypoints: { start: (4 + numClasses) * numAnchors, rowStep: 1, valueStep: numAnchors, keypoints: numKeypoints },
  };
}

/**
 * YOLO26 pose: rows `[x1, y1, x2, y2, conf, class, kp0_x, kp0_y, kp0_conf, …]` of 6 + 3 · Kp
 * values, already suppressed: score strictly above `confidence`, no NMS, no cap (yolo26-rows.ts).
 * Every candidate is final, in output order.
 */
export function decodeYolo26Pose(output: Float32Array, numRows: number, numClasses: number, numKeypoints: number, confidence: number): PoseCandidates {
  const rowLength = YOLO26_BOX_COLUMNS + KEYPOINT_VALUES * numKeypoints;
  return {
    candidates: decodeYolo26Rows(output, numRows, rowLength, numClasses, confidence),
    keypoints: { start: YOLO26_BOX_COLUMNS, rowStep: rowLength, valueStep: 1, keypoints: numKeypoints },
  };
}
