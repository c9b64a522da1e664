/** Pose stage: MoveNet keypoints (COCO-17, original pixels), subject tracking, One Euro smoothing, overlays (see README.md). */
export * from './types.js';
export { letterboxRegion, regionToFrame, frameToRegion, resampleRegion, squareAround } from './crop.js';
export type { SquareRegion } from './crop.js';
export { createPoseEstimator, loadMoveNetRunner, poseModelId } from './estimator.js';
export { poseFromOutput, boxOfValid, DEFAULT_MIN_SCORE, DEFAULT_MIN_VALID } from './keypoints.js';
export type { PoseEstimator, PoseEstimatorOptions, PoseModelName, PoseModelRunner } from './estimator.js';
export { OneEuroFilter, oneEuroAlpha, DEFAULT_ONE_EURO } from './one-euro.js';
export type { OneEuroParams } from './one-euro.js';
export { PoseTracker, cropRegionFromPose, TORSO_EXPANSION, BODY_EXPANSION } from './track.js';
export type { PoseTrackerOptions, PoseTrackerStats, PoseSource } from './track.js';
export { drawPose, drawLine, fillCircle } from './overlay.js';
export type { OverlayStyle, Rgb } from './overlay.js';
export { trackPoses, readImageFrame, isImagePath, writePoseTrack, readPoseTrack } from './video.js';
export type { TrackPosesOptions, TrackPosesResult } from './video.js';
export {
  PEOPLE_PASS, PeopleTracker, SubjectRefiner, fillBetweenKeys, selectSubject, splitTracksAtCuts, parseSubjectRule, subjectRuleText, implausibleReason, poseAnchor, poseDistance, boxIoU, rationalOf, DEFAULT_PLAUSIBILITY,
} from './people.js';
export type { PeopleTrackerOptions, PeopleTrackerStats, PeopleFrame, PeopleTracks, PersonPose, PersonTrack, PlausibilityRule, SubjectRule } from './people.js';
export { PersonDetector, DETECTOR_INPUT, decodePersons, detectorInput, nonMaxSuppression } from './detector.js';
export type { PersonBox, DetectOptions } from './detector.js';
