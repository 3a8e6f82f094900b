// The handler contract shared with the CDN lives in core.
export type { HostHandler, Logger, NodeRequest, NodeResponse, ResponseWriter } from '../core/http-types.ts';
export { silentLogger } from '../core/http-types.ts';
