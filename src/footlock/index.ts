/** Foot lock: ankle contacts from pose tracks, and the per-frame correction that holds planted feet (see README.md). */
export {
  detectContacts,
  contactSignals,
  decideContacts,
  resolveContactOptions,
  interpolateKeypoint,
  bodyHeights,
  bodySpeeds,
  smoothNaN,
  forEachRun,
  fpsOf,
  DEFAULT_CONTACT_OPTIONS,
} from './contacts.js';
export type { ContactOptions, Contacts, ContactSpan, FootContacts, FootSignals, ContactSignals, Point } from './contacts.js';
export { unswapLegs } from './legs.js';
export type { LegSwapReport, LegSwapOptions } from './legs.js';
export { readContactLabels, scoreWalker, addConfusion, f1 as confusionF1 } from './contacts-eval.js';
export type { ContactLabels, ContactLabel, LabelledWalker, LabelledFoot, Confusion, WalkerScore } from './contacts-eval.js';
export { planFootLock, resolveLockOptions, applyMat, blendMat, IDENTITY, DEFAULT_LOCK_OPTIONS } from './lock.js';
export type { LockOptions, LockPlan, Mat2x3 } from './lock.js';
export { readContacts, writeContacts } from './contacts-file.js';
export { lockFrameSync, maskBox, IDENTITY_EPSILON, MASK_FLOOR } from './apply.js';
export { footLockVideo, redetectPoses } from './video.js';
export type { AnkleSource, FootLockVideoOptions, FootLockVideoResult } from './video.js';
export { FollowDrivingLock, measureAnkleOffsets, DEFAULT_FOLLOW_OPTIONS } from './follow.js';
export type { FollowLockOptions, AnkleOffsets } from './follow.js';
