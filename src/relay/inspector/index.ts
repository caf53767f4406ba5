// The event inspector: a page and a JSON endpoint the relay mounts at `<basePath>/inspect`.
export { createInspector } from './createInspector';
export type { InspectorOptions } from './createInspector';
export { displayState, inspectorData } from './inspectorData';
export type { InspectorData, InspectorEvent, InspectorState } from './inspectorData';
