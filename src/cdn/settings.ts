import { assertHost, assertWriteKey } from './validate.ts';

/** The CDN settings document served at `/v1/projects/<writeKey>/settings` (segment-compat §2.4). */
export interface CdnSettings {
  readonly integrations: {
    readonly 'Segment.io': { readonly apiKey: string; readonly apiHost: string; readonly protocol: 'https' };
  };
  readonly metrics: { readonly host: string; readonly sampleRate: 0 };
}

/**
 * The minimal settings that make analytics.js (and the mobile libraries, which take `apiHost`
 * from here over their own configuration) send everything to `apiHost` and nothing to Segment:
 * `Segment.io.apiKey` is the write key (the browser copies it into every event), `apiHost` is
 * host + `/v1` without scheme, and remote metrics are off (`sampleRate: 0`) and pointed at our
 * host. No other integration key, so no device-mode destination is loaded.
 */
export function cdnSettings(writeKey: string, apiHost: string): CdnSettings {
  assertWriteKey(writeKey);
  assertHost(apiHost);
  const host = `${apiHost}/v1`;
  return {
    integrations: { 'Segment.io': { apiKey: writeKey, apiHost: host, protocol: 'https' } },
    metrics: { host, sampleRate: 0 },
  };
}
