export { createIngestHandler, type IngestHandler, type IngestDeps, type StoredListener } from './ingest-handler.ts';
export { DEFAULT_INGEST_OPTIONS, resolveIngestOptions, type IngestOptions } from './options.ts';
export { IngestErrors, wireCode, type RejectReason } from './errors.ts';
export { EVENT_TYPES, type EventType } from './event-rules.ts';
export type { HostHandler, Logger, NodeRequest, NodeResponse } from './http-types.ts';
export { createEventTail, type EventTail, type EventTailOptions, type TailEvent } from './event-tail.ts';
export { createRateLimiter, type RateLimiter, type RateLimitSettings, type RateVerdict } from './rate-limit.ts';
