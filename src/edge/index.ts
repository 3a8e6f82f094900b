export { CertCache, TLS_OPTIONS, type EdgeCertificate } from './cert-cache.ts';
export { HostRouter, normaliseHostHeader, type HostRoute } from './host-router.ts';
export { EdgeServer, type EdgeServerDeps, type ScopedHandler } from './edge-server.ts';
export { EdgeErrors } from './errors.ts';
