import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { AppError, parseHostname, type Hostname } from '../core/index.ts';
import { ConfigErrors } from './errors.ts';

/** A listening or target address. */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** One of our nameservers as published in every delegated zone. */
export interface NameserverConfig {
  /** Its hostname (the NS record target). */
  readonly name: Hostname;
}

/**
 * The whole configuration of a firstparty process, validated and deep-frozen. Built once by
 * {@link loadConfig}; nothing else reads the environment.
 */
export interface Config {
  /** Folder for the SQLite database, local CA, master key and admin token. Default `./data`. */
  readonly dataDir: string;
  /** Bearer token of the operator on the admin API. Default: generated once into `<dataDir>/admin-token`. */
  readonly adminToken: string | null;
  readonly admin: { readonly listen: HostPort };
  readonly dns: {
    /** Where the authoritative server listens (UDP and TCP). Default `127.0.0.1:5300`. */
    readonly listen: readonly HostPort[];
    /** Our NS set, published at every zone apex. Default `ns1.firstparty.localhost`, `ns2.firstparty.localhost`. */
    readonly nameservers: readonly Hostname[];
    /** SOA RNAME. Default `hostmaster.<first nameserver's parent>`. */
    readonly hostmaster: string;
    /** Secondary nameservers sent NOTIFY on every zone change (RFC 1996). Default none. */
    readonly secondaries: readonly HostPort[];
    /** TSIG key (HMAC-SHA256, RFC 8945) for transfers and NOTIFY: name and base64 secret. Default none. */
    readonly tsigKey: { readonly name: string; readonly secretBase64: string } | null;
    /** Addresses or CIDR prefixes allowed to AXFR. Default: the secondaries' hosts. */
    readonly axfrAllow: readonly string[];
    /** UDP responses per second per client /24 (RRL); 0 = off. Default 0. */
    readonly rrlResponsesPerSecond: number;
  };
  readonly edge: {
    /** HTTPS listen address. Default `127.0.0.1:8443`. */
    readonly listen: HostPort;
    /** Addresses published as A records of the CDN and API hosts. Default `127.0.0.1`. */
    readonly ipv4: readonly string[];
    /** Addresses published as AAAA records. Default none. */
    readonly ipv6: readonly string[];
    /** Labels of the two hosts inside a custom domain. Default `cdn` and `api`. */
    readonly cdnLabel: string;
    readonly apiLabel: string;
    /** The operator's default hosts, serving every source. Default `cdn.firstparty.localhost` / `api.firstparty.localhost`. */
    readonly defaultCdnHost: Hostname;
    readonly defaultApiHost: Hostname;
    /** Plain-HTTP listener (CDN hosts redirect to HTTPS). Default none. */
    readonly httpListen: HostPort | null;
    /** Whether API hosts answer plain HTTP on that listener. Default false (403). */
    readonly plainHttpApi: boolean;
    /** HTTPS port clients use, for redirects. Default the HTTPS listen port. */
    readonly publicHttpsPort: number;
    /** Open connections per client address before 429. Default 256. */
    readonly maxConnectionsPerAddress: number;
    /** Time allowed for a whole request (ms). Default 30000. */
    readonly requestTimeoutMs: number;
    /** One structured log line per response. Default true. */
    readonly accessLog: boolean;
    /** Whether access log lines carry the client address (personal data). Default false. */
    readonly logClientAddress: boolean;
    /** Host whose certificate answers handshakes without SNI. Default none: they fail. */
    readonly noSniHost: Hostname | null;
  };
  readonly acme: {
    /** ACME directory URL; null → the built-in local CA issues certificates. Default null. */
    readonly directoryUrl: string | null;
    /** PEM file of extra CAs trusted for the directory's HTTPS (e.g. Pebble's). Default none. */
    readonly caBundlePath: string | null;
    readonly contactEmail: string | null;
    /** Second ACME directory, used for a domain once the first keeps failing. Default none. Its HTTPS is trusted through the same CA bundle. */
    readonly fallbackDirectoryUrl: string | null;
    /** CAA `issue` values published in every zone. Default `letsencrypt.org` with ACME, none with the local CA. */
    readonly caaIdentities: readonly string[];
  };
  readonly delegation: {
    /** Recursive resolver used for delegation checks. Default: first nameserver of /etc/resolv.conf. */
    readonly resolver: HostPort;
    /** First delay between delegation checks (ms). Default 2000. */
    readonly pollInitialMs: number;
    /** Largest delay between checks (ms). Default 300000 (5 min). */
    readonly pollMaxMs: number;
  };
  /** How long a removed or replaced domain's zone and hosts are still served (ms). Default 300000 (5 min). */
  readonly removalGraceMs: number;
  /** Plans that include custom domains. Default `business`. */
  readonly customDomainPlans: readonly string[];
  /** Whether webhooks may target loopback/private/link-local addresses. Default false. */
  readonly webhookAllowPrivate: boolean;
  /** Peers whose X-Forwarded-For is believed. Default none. */
  readonly trustedProxies: readonly string[];
  readonly ingest: {
    /** Sustained Tracking API events per second accepted per source (token bucket); 0 = off. Default 5000. */
    readonly rateLimitEventsPerSecond: number;
    /** Events a source may send at once after being idle (bucket size, at least 1). Default 50000. */
    readonly rateLimitBurstEvents: number;
    /** Deduplication by (source, messageId) covers at least this many of the latest events (memory ≤ ~32 bytes each). Default 2000000. */
    readonly dedupWindowEvents: number;
  };
  /** Log level for pino. Default `info`. */
  readonly logLevel: string;
  /** Key encryption of private keys at rest. */
  readonly keys: {
    /** Base64 of 32 bytes sealing new secrets. Default: `<dataDir>/master.key`, generated once. */
    readonly masterKey: string | null;
    /** Earlier master keys (base64), still accepted for reading; secrets are re-sealed with the current key at start. Default none. */
    readonly previousMasterKeys: readonly string[];
  };
}

/** Raw settings as they come from a JSON file or the environment, before validation. */
type Raw = Record<string, string | undefined>;

/** The environment variables firstparty reads, with their meaning (also rendered in the README). */
export const ENV_VARS: Readonly<Record<string, string>> = {
  FIRSTPARTY_CONFIG: 'path of a JSON file with any of the keys below (env wins)',
  FIRSTPARTY_DATA_DIR: 'data folder (default ./data)',
  FIRSTPARTY_ADMIN_TOKEN: 'operator bearer token (default: generated into <data>/admin-token)',
  FIRSTPARTY_ADMIN_LISTEN: 'admin API host:port (default 127.0.0.1:4100)',
  FIRSTPARTY_DNS_LISTEN: 'comma-separated host:port for DNS, UDP+TCP (default 127.0.0.1:5300)',
  FIRSTPARTY_NAMESERVERS: 'comma-separated NS hostnames (default ns1.firstparty.localhost,ns2.firstparty.localhost)',
  FIRSTPARTY_HOSTMASTER: 'SOA RNAME (default hostmaster.<parent of first NS>)',
  FIRSTPARTY_DNS_SECONDARIES: 'comma-separated host:port of secondary nameservers sent NOTIFY (default none)',
  FIRSTPARTY_DNS_TSIG_KEY: 'TSIG key name:base64secret (HMAC-SHA256) for AXFR and NOTIFY (default none)',
  FIRSTPARTY_DNS_AXFR_ALLOW: 'comma-separated IPs/CIDRs allowed to AXFR (default: the secondaries hosts)',
  FIRSTPARTY_DNS_RRL_RATE: 'UDP responses per second per client /24, 0 = off (default 0)',
  FIRSTPARTY_EDGE_LISTEN: 'HTTPS host:port (default 127.0.0.1:8443)',
  FIRSTPARTY_EDGE_IPV4: 'comma-separated A addresses of the hosts (default 127.0.0.1)',
  FIRSTPARTY_EDGE_IPV6: 'comma-separated AAAA addresses (default none)',
  FIRSTPARTY_EDGE_HTTP_LISTEN: 'plain-HTTP host:port; CDN hosts redirect to HTTPS (default none)',
  FIRSTPARTY_EDGE_PLAIN_HTTP_API: 'true to answer API hosts over plain HTTP too (default false)',
  FIRSTPARTY_EDGE_PUBLIC_HTTPS_PORT: 'HTTPS port in redirect targets (default the HTTPS listen port)',
  FIRSTPARTY_EDGE_MAX_CONNECTIONS_PER_ADDRESS: 'open connections per client address before 429 (default 256)',
  FIRSTPARTY_EDGE_REQUEST_TIMEOUT_MS: 'time allowed for a whole request in ms (default 30000)',
  FIRSTPARTY_EDGE_ACCESS_LOG: 'one log line per response (default true)',
  FIRSTPARTY_EDGE_LOG_CLIENT_ADDRESS: 'include the client address in access logs (default false)',
  FIRSTPARTY_EDGE_NO_SNI_HOST: 'host whose certificate answers handshakes without SNI (default none)',
  FIRSTPARTY_CDN_LABEL: 'label of the CDN host (default cdn)',
  FIRSTPARTY_API_LABEL: 'label of the API host (default api)',
  FIRSTPARTY_DEFAULT_CDN_HOST: 'operator CDN host (default cdn.firstparty.localhost)',
  FIRSTPARTY_DEFAULT_API_HOST: 'operator API host (default api.firstparty.localhost)',
  FIRSTPARTY_ACME_DIRECTORY: 'ACME directory URL (default: none, local CA)',
  FIRSTPARTY_ACME_CA_BUNDLE: 'PEM file trusted for the ACME directory HTTPS',
  FIRSTPARTY_ACME_EMAIL: 'ACME account contact email',
  FIRSTPARTY_ACME_FALLBACK_DIRECTORY: 'second ACME directory URL, used when the first keeps failing (default none)',
  FIRSTPARTY_MASTER_KEY: 'base64 of 32 bytes sealing private keys at rest (default: generated into <data>/master.key)',
  FIRSTPARTY_PREVIOUS_MASTER_KEYS: 'comma-separated earlier master keys, read-only, for rotation (default none)',
  FIRSTPARTY_CAA: 'comma-separated CAA issuer domains (default letsencrypt.org with ACME, none otherwise)',
  FIRSTPARTY_RESOLVER: 'resolver host:port for delegation checks (default from /etc/resolv.conf)',
  FIRSTPARTY_DELEGATION_POLL_MS: 'first delegation poll delay in ms (default 2000)',
  FIRSTPARTY_DELEGATION_POLL_MAX_MS: 'largest delegation poll delay in ms (default 300000)',
  FIRSTPARTY_REMOVAL_GRACE_MS: 'ms a removed domain is still served before its zone and hosts go (default 300000)',
  FIRSTPARTY_PLANS: 'comma-separated plans that include custom domains (default business)',
  FIRSTPARTY_WEBHOOK_ALLOW_PRIVATE: 'true to let webhooks reach loopback/private addresses (default false)',
  FIRSTPARTY_TRUSTED_PROXIES: 'comma-separated proxy IPs whose X-Forwarded-For is believed',
  FIRSTPARTY_LOG_LEVEL: 'pino level (default info)',
  FIRSTPARTY_INGEST_RATE_LIMIT: 'Tracking API events per second per source, 0 = off (default 5000)',
  FIRSTPARTY_INGEST_RATE_BURST: 'Tracking API burst per source, in events (default 50000)',
  FIRSTPARTY_DEDUP_WINDOW: 'latest events a repeated messageId of a source is looked up among, at least (default 2000000)',
};

/**
 * Reads the configuration once from an optional JSON file (`FIRSTPARTY_CONFIG` or `opts.file`,
 * keys named like the environment variables) and `env` (which wins), validates it and returns it
 * deep-frozen. Throws {@link AppError} `ERR_CONFIG_INVALID` naming the offending setting.
 */
export function loadConfig(env: NodeJS.ProcessEnv, opts: { file?: string; cwd?: string; resolvConf?: string } = {}): Config {
  const raw: Raw = { ...readFileRaw(opts.file ?? env.FIRSTPARTY_CONFIG), ...pickEnv(env) };
  const cwd = opts.cwd ?? process.cwd();
  const nameservers = list(raw.FIRSTPARTY_NAMESERVERS, 'ns1.firstparty.localhost,ns2.firstparty.localhost').map((n) => host(n, 'FIRSTPARTY_NAMESERVERS'));
  const directoryUrl = raw.FIRSTPARTY_ACME_DIRECTORY || null;
  if (directoryUrl !== null && !/^https?:\/\//.test(directoryUrl)) invalid('FIRSTPARTY_ACME_DIRECTORY', 'must be an http(s) URL');
  const fallbackDirectoryUrl = raw.FIRSTPARTY_ACME_FALLBACK_DIRECTORY || null;
  if (fallbackDirectoryUrl !== null && !/^https?:\/\//.test(fallbackDirectoryUrl)) invalid('FIRSTPARTY_ACME_FALLBACK_DIRECTORY', 'must be an http(s) URL');
  const secondaries = list(raw.FIRSTPARTY_DNS_SECONDARIES, '').map((s) => hostPort(s, 'FIRSTPARTY_DNS_SECONDARIES', 53));
  const pollInitialMs = int(raw.FIRSTPARTY_DELEGATION_POLL_MS, 2000, 'FIRSTPARTY_DELEGATION_POLL_MS');
  const edgeListen = hostPort(raw.FIRSTPARTY_EDGE_LISTEN || '127.0.0.1:8443', 'FIRSTPARTY_EDGE_LISTEN');
  const config: Config = {
    dataDir: resolve(cwd, raw.FIRSTPARTY_DATA_DIR || './data'),
    adminToken: token(raw.FIRSTPARTY_ADMIN_TOKEN),
    admin: { listen: hostPort(raw.FIRSTPARTY_ADMIN_LISTEN || '127.0.0.1:4100', 'FIRSTPARTY_ADMIN_LISTEN') },
    dns: {
      listen: list(raw.FIRSTPARTY_DNS_LISTEN, '127.0.0.1:5300').map((s) => ipPort(hostPort(s, 'FIRSTPARTY_DNS_LISTEN'), 'FIRSTPARTY_DNS_LISTEN')),
      nameservers,
      hostmaster: raw.FIRSTPARTY_HOSTMASTER || `hostmaster.${nameservers[0]!.split('.').slice(1).join('.')}`,
      secondaries,
      tsigKey: tsigKey(raw.FIRSTPARTY_DNS_TSIG_KEY),
      axfrAllow: list(raw.FIRSTPARTY_DNS_AXFR_ALLOW, secondaries.map((s) => s.host).join(',')).map((a) => cidr(a, 'FIRSTPARTY_DNS_AXFR_ALLOW')),
      rrlResponsesPerSecond: int(raw.FIRSTPARTY_DNS_RRL_RATE, 0, 'FIRSTPARTY_DNS_RRL_RATE'),
    },
    edge: {
      listen: edgeListen,
      ipv4: list(raw.FIRSTPARTY_EDGE_IPV4, '127.0.0.1').map((a) => ip(a, 4, 'FIRSTPARTY_EDGE_IPV4')),
      ipv6: list(raw.FIRSTPARTY_EDGE_IPV6, '').map((a) => ip(a, 6, 'FIRSTPARTY_EDGE_IPV6')),
      cdnLabel: label(raw.FIRSTPARTY_CDN_LABEL || 'cdn', 'FIRSTPARTY_CDN_LABEL'),
      apiLabel: label(raw.FIRSTPARTY_API_LABEL || 'api', 'FIRSTPARTY_API_LABEL'),
      defaultCdnHost: host(raw.FIRSTPARTY_DEFAULT_CDN_HOST || 'cdn.firstparty.localhost', 'FIRSTPARTY_DEFAULT_CDN_HOST'),
      defaultApiHost: host(raw.FIRSTPARTY_DEFAULT_API_HOST || 'api.firstparty.localhost', 'FIRSTPARTY_DEFAULT_API_HOST'),
      httpListen: raw.FIRSTPARTY_EDGE_HTTP_LISTEN ? hostPort(raw.FIRSTPARTY_EDGE_HTTP_LISTEN, 'FIRSTPARTY_EDGE_HTTP_LISTEN') : null,
      plainHttpApi: bool(raw.FIRSTPARTY_EDGE_PLAIN_HTTP_API, false, 'FIRSTPARTY_EDGE_PLAIN_HTTP_API'),
      publicHttpsPort: int(raw.FIRSTPARTY_EDGE_PUBLIC_HTTPS_PORT, edgeListen.port, 'FIRSTPARTY_EDGE_PUBLIC_HTTPS_PORT'),
      maxConnectionsPerAddress: int(raw.FIRSTPARTY_EDGE_MAX_CONNECTIONS_PER_ADDRESS, 256, 'FIRSTPARTY_EDGE_MAX_CONNECTIONS_PER_ADDRESS'),
      requestTimeoutMs: int(raw.FIRSTPARTY_EDGE_REQUEST_TIMEOUT_MS, 30_000, 'FIRSTPARTY_EDGE_REQUEST_TIMEOUT_MS'),
      accessLog: bool(raw.FIRSTPARTY_EDGE_ACCESS_LOG, true, 'FIRSTPARTY_EDGE_ACCESS_LOG'),
      logClientAddress: bool(raw.FIRSTPARTY_EDGE_LOG_CLIENT_ADDRESS, false, 'FIRSTPARTY_EDGE_LOG_CLIENT_ADDRESS'),
      noSniHost: raw.FIRSTPARTY_EDGE_NO_SNI_HOST ? host(raw.FIRSTPARTY_EDGE_NO_SNI_HOST, 'FIRSTPARTY_EDGE_NO_SNI_HOST') : null,
    },
    acme: {
      directoryUrl,
      caBundlePath: raw.FIRSTPARTY_ACME_CA_BUNDLE ? resolve(cwd, raw.FIRSTPARTY_ACME_CA_BUNDLE) : null,
      contactEmail: raw.FIRSTPARTY_ACME_EMAIL || null,
      fallbackDirectoryUrl,
      caaIdentities: list(raw.FIRSTPARTY_CAA, directoryUrl ? 'letsencrypt.org' : ''),
    },
    delegation: {
      resolver: ipPort(hostPort(raw.FIRSTPARTY_RESOLVER || systemResolver(opts.resolvConf ?? '/etc/resolv.conf'), 'FIRSTPARTY_RESOLVER', 53), 'FIRSTPARTY_RESOLVER'),
      pollInitialMs,
      pollMaxMs: int(raw.FIRSTPARTY_DELEGATION_POLL_MAX_MS, Math.max(300_000, pollInitialMs), 'FIRSTPARTY_DELEGATION_POLL_MAX_MS'),
    },
    removalGraceMs: int(raw.FIRSTPARTY_REMOVAL_GRACE_MS, 300_000, 'FIRSTPARTY_REMOVAL_GRACE_MS'),
    customDomainPlans: list(raw.FIRSTPARTY_PLANS, 'business').map((p) => p.toLowerCase()),
    webhookAllowPrivate: bool(raw.FIRSTPARTY_WEBHOOK_ALLOW_PRIVATE, false, 'FIRSTPARTY_WEBHOOK_ALLOW_PRIVATE'),
    trustedProxies: list(raw.FIRSTPARTY_TRUSTED_PROXIES, '').map((a) => ip(a, 0, 'FIRSTPARTY_TRUSTED_PROXIES')),
    logLevel: oneOf(raw.FIRSTPARTY_LOG_LEVEL || 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'FIRSTPARTY_LOG_LEVEL'),
    ingest: {
      rateLimitEventsPerSecond: int(raw.FIRSTPARTY_INGEST_RATE_LIMIT, 5000, 'FIRSTPARTY_INGEST_RATE_LIMIT'),
      rateLimitBurstEvents: int(raw.FIRSTPARTY_INGEST_RATE_BURST, 50_000, 'FIRSTPARTY_INGEST_RATE_BURST') || invalid('FIRSTPARTY_INGEST_RATE_BURST', 'must be at least 1'),
      dedupWindowEvents: int(raw.FIRSTPARTY_DEDUP_WINDOW, 2_000_000, 'FIRSTPARTY_DEDUP_WINDOW') || invalid('FIRSTPARTY_DEDUP_WINDOW', 'must be at least 1'),
    },
    keys: { masterKey: raw.FIRSTPARTY_MASTER_KEY || null, previousMasterKeys: list(raw.FIRSTPARTY_PREVIOUS_MASTER_KEYS, '') },
  };
  return deepFreeze(config);
}

function pickEnv(env: NodeJS.ProcessEnv): Raw {
  // A misspelt setting must not be silently ignored (the JSON file refuses unknown keys too).
  const unknown = Object.keys(env).filter((k) => k.startsWith('FIRSTPARTY_') && !(k in ENV_VARS));
  if (unknown.length > 0) invalid(unknown[0]!, `unknown setting in the environment; known settings: firstparty help`);
  return Object.fromEntries(Object.keys(ENV_VARS).filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
}

function readFileRaw(file: string | undefined): Raw {
  if (!file) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new AppError(ConfigErrors.FILE_UNREADABLE, `cannot read configuration file ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) invalid(file, 'must hold a JSON object');
  const raw: Raw = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (!(k in ENV_VARS)) invalid(k, `unknown setting in ${file}`);
    raw[k] = Array.isArray(v) ? v.join(',') : String(v);
  }
  return raw;
}

function invalid(setting: string, why: string): never {
  throw new AppError(ConfigErrors.INVALID, `${setting}: ${why}`, { details: { setting } });
}

function list(v: string | undefined, dflt: string): string[] {
  return (v ?? dflt).split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function int(v: string | undefined, dflt: number, setting: string): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) invalid(setting, `"${v}" is not a non-negative integer`);
  return n;
}

function oneOf(v: string, allowed: readonly string[], setting: string): string {
  if (!allowed.includes(v)) invalid(setting, `"${v}" is not one of ${allowed.join(', ')}`);
  return v;
}

function ipPort(hp: HostPort, setting: string): HostPort {
  if (isIP(hp.host) === 0) invalid(setting, `"${hp.host}" must be an IP address (DNS needs addresses, not names)`);
  return hp;
}

function token(v: string | undefined): string | null {
  if (!v) return null;
  if (v.length < 16 || /\s/.test(v)) invalid('FIRSTPARTY_ADMIN_TOKEN', 'must be at least 16 characters without spaces');
  return v;
}

function bool(v: string | undefined, dflt: boolean, setting: string): boolean {
  if (v === undefined) return dflt;
  if (/^(true|1|yes|on)$/i.test(v)) return true;
  if (/^(false|0|no|off)$/i.test(v)) return false;
  invalid(setting, `"${v}" is not true or false`);
}

function host(v: string, setting: string): Hostname {
  const r = parseHostname(v);
  if (!r.ok) invalid(setting, r.message);
  return r.value;
}

function label(v: string, setting: string): string {
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(v)) invalid(setting, `"${v}" is not a DNS label`);
  return v;
}

function ip(v: string, family: 0 | 4 | 6, setting: string): string {
  const f = isIP(v);
  if (f === 0 || (family !== 0 && f !== family)) invalid(setting, `"${v}" is not an IPv${family || '4/6'} address`);
  return v;
}

/** An IP address or `address/prefix`, as written. */
function cidr(v: string, setting: string): string {
  const [addr = '', bits] = v.split('/');
  const max = isIP(addr) === 6 ? 128 : 32;
  ip(addr, 0, setting);
  if (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max)) invalid(setting, `"${v}" is not an IP address or CIDR prefix`);
  return v;
}

/** `name:base64secret` (optionally `hmac-sha256:` first), at least 16 secret bytes (RFC 8945 §6.1). */
function tsigKey(v: string | undefined): { name: string; secretBase64: string } | null {
  if (!v) return null;
  const m = /^(?:hmac-sha256:)?([A-Za-z0-9_.-]+?)\.?:([A-Za-z0-9+/]+={0,2})$/.exec(v);
  if (!m || Buffer.from(m[2]!, 'base64').length < 16) invalid('FIRSTPARTY_DNS_TSIG_KEY', 'must be name:base64secret with at least 16 secret bytes');
  return { name: m[1]!.toLowerCase(), secretBase64: m[2]! };
}

/** Parses `host:port`, `[v6]:port`, or a bare host when `defaultPort` is given. */
export function hostPort(v: string, setting: string, defaultPort?: number): HostPort {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(v) ?? /^([^:]+)(?::(\d+))?$/.exec(v);
  const port = m?.[2] !== undefined ? Number(m[2]) : defaultPort;
  if (!m || port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) invalid(setting, `"${v}" is not host:port`);
  return { host: m[1]!, port };
}

function systemResolver(path: string): string {
  try {
    const m = /^\s*nameserver\s+(\S+)/m.exec(readFileSync(path, 'utf8'));
    if (m) return isIP(m[1]!) === 6 ? `[${m[1]}]:53` : `${m[1]}:53`;
  } catch {
    // No resolv.conf (containers): fall through to loopback, which the operator can override.
  }
  return '127.0.0.1:53';
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
