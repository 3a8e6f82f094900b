export type * from './types.ts';
export { openSqliteStore } from './sqlite-store.ts';
export { SqliteEventLog } from './sqlite-event-log.ts';
