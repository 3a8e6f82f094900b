export type * from './types.ts';
export type * from './control-types.ts';
export { openSqliteStore } from './sqlite-store.ts';
export { SqliteEventLog } from './sqlite-event-log.ts';
export { certLifecycleRepos } from './sqlite-cert-lifecycle.ts';
export type {
  AcmeOrderRecord, AcmeOrderRepo, AcmeOrderStatus, CertFailureRecord, CertRecordRepo, RenewalRepo, RenewalSchedule,
} from './sqlite-cert-lifecycle.ts';
