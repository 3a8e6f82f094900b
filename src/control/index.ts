export { createControl, type Control, type ControlSettings, type ControlDeps } from './service.ts';
export { createAdminHandler, type AdminApiDeps } from './admin-api.ts';
export { DomainWorker, classifyIssuanceError, type DomainWorkerDeps } from './domain-worker.ts';
export { SourceDirectory } from './source-directory.ts';
export { nextState, isTerminal, type DomainEvent } from './lifecycle.ts';
export { normaliseCustomDomain, hostsOf } from './domain-rules.ts';
export { ControlErrors } from './errors.ts';
export type { DomainView } from './domain-view.ts';
