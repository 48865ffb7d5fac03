// core/v1 Events and events.k8s.io/v1 Events are the same stored objects (like the real server,
// which stores the internal Event and converts per version). Storage here is the core/v1 shape.
import type { JsonObject } from './resources.ts';

/** events.k8s.io/v1 field → core/v1 field (k8s.io/kubernetes/pkg/apis/events/v1 conversion). */
const V1_TO_CORE: Array<[string, string]> = [
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];
const SAME = ['metadata', 'eventTime', 'series', 'reportingInstance', 'action', 'reason', 'related', 'type'];

/** Adds the fields Go always serialises for a core/v1 Event (non-omitempty structs and strings). */
function coreDefaults(e: JsonObject): JsonObject {
  e.involvedObject ??= {};
  e.source ??= {};
  if (e.firstTimestamp === undefined) e.firstTimestamp = null;
  if (e.lastTimestamp === undefined) e.lastTimestamp = null;
  if (e.eventTime === undefined) e.eventTime = null;
  e.reportingComponent ??= '';
  e.reportingInstance ??= '';
  return e;
}

/** An events.k8s.io/v1 Event (decoded body) → the stored core/v1 shape. */
export function eventToCore(obj: JsonObject): JsonObject {
  const out: JsonObject = { apiVersion: 'v1', kind: 'Event' };
  for (const k of SAME) if (obj[k] !== undefined) out[k] = obj[k];
  for (const [v1, core] of V1_TO_CORE) if (obj[v1] !== undefined) out[core] = obj[v1];
  return coreDefaults(out);
}

/** A stored Event rendered as core/v1 (fields Go always writes included). */
export function presentCoreEvent(obj: JsonObject): JsonObject {
  return coreDefaults(obj);
}

/** A stored Event rendered as events.k8s.io/v1. */
export function presentV1Event(stored: JsonObject): JsonObject {
  const out: JsonObject = { apiVersion: 'events.k8s.io/v1', kind: 'Event' };
  const e = coreDefaults({ ...stored });
  for (const k of SAME) if (e[k] !== undefined) out[k] = e[k];
  for (const [v1, core] of V1_TO_CORE) if (e[core] !== undefined) out[v1] = e[core];
  // omitempty in events.k8s.io/v1: reportingController, reportingInstance, deprecatedCount
  if (!out.reportingController) delete out.reportingController;
  if (!out.reportingInstance) delete out.reportingInstance;
  if (!out.deprecatedCount) delete out.deprecatedCount;
  return out;
}

/** Field-selector field of events.k8s.io/v1 → the stored (core) field. */
export const V1_FIELD_LABELS: Record<string, string> = {
  'regarding.kind': 'involvedObject.kind', 'regarding.namespace': 'involvedObject.namespace',
  'regarding.name': 'involvedObject.name', 'regarding.uid': 'involvedObject.uid',
  'regarding.apiVersion': 'involvedObject.apiVersion', 'regarding.resourceVersion': 'involvedObject.resourceVersion',
  'regarding.fieldPath': 'involvedObject.fieldPath', reportingController: 'reportingComponent',
  reason: 'reason', type: 'type', 'metadata.name': 'metadata.name', 'metadata.namespace': 'metadata.namespace',
};
