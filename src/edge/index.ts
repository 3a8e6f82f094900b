export { CertCache, TLS_OPTIONS, edgeTlsOptions, type CertCacheOptions, type EdgeCertificate } from './cert-cache.ts';
export { HostRouter, normaliseHostHeader, type HostRoute } from './host-router.ts';
export { EdgeServer, type AccessLogger, type EdgeServerDeps, type InheritedListener, type ScopedHandler } from './edge-server.ts';
export { PlainHttpServer, type PlainHttpDeps } from './plain-http.ts';
export { DEFAULT_EDGE_LIMITS, type EdgeLimits } from './protection.ts';
export { EdgeMetrics, METRICS_CONTENT_TYPE, createMetricsHook } from './metrics.ts';
export { HEALTH_PATH, READY_PATH } from './health.ts';
export { EdgeErrors } from './errors.ts';
export { listenOn, boundAddress, type ListenTarget } from './listen.ts';
