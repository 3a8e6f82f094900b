/**
 * The DNS capability: firstparty's authoritative server for delegated custom-domain zones
 * (UDP + TCP), the in-memory zone table it answers from, the custom-zone builder, and a small
 * query client.
 */
export type { RecordSpec, SoaSpec, ZoneSpec, DnsListen, DnsLogger, DnsTransport } from './types.ts';
export { ZoneTable } from './zone-table.ts';
export { buildCustomDomainZone, type CustomZoneInput } from './custom-zone.ts';
export { DnsServer, type DnsServerOptions } from './dns-server.ts';
export { answerQuery, createResponder, EDNS_UDP_SIZE, type Responder } from './responder.ts';
export { DnsMetricsRecorder, LATENCY_BUCKETS_US, type DnsMetrics } from './metrics.ts';
export { queryDns, type QueryDnsOptions, type DnsResponse } from './client.ts';
export { DnsErrors } from './errors.ts';
export { RRType, Rcode, Opcode, typeName, typeCode, rcodeName } from './rr-types.ts';
export { type ZoneChange } from './zone-table.ts';
export { Notifier, type NotifierOptions, type NotifyStats } from './notifier.ts';
export { createTransferResponder, compileAllowList, type TransferPolicy, type TransferResponder } from './zone-transfer.ts';
export { parseTsigKey, signMessage, verifyMessage, TsigError, TSIG_ALGORITHM, type TsigKey, type TsigVerdict } from './tsig.ts';
export { ResponseRateLimiter, type RrlOptions, type RrlAction } from './rrl.ts';
export { renderNsdSecondaryConfig, type NsdSecondaryConfigInput } from './nsd-config.ts';
export { renderDnsPrometheus } from './prometheus.ts';
