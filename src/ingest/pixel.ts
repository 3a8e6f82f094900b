import { isJsonObject, type JsonObject } from './event-rules.ts';

/** A transparent 1×1 GIF89a, the body of every Pixel API response. */
export const PIXEL_GIF: Buffer = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/**
 * The event of a Pixel API URL: `?data=` holding base64 (standard or URL-safe) of a JSON object.
 * A `+` that arrived unescaped was turned into a space by query decoding and is restored.
 * Undefined when absent or not a JSON object.
 */
export function pixelEvent(url: string | undefined): JsonObject | undefined {
  const q = url?.indexOf('?') ?? -1;
  if (q < 0) return undefined;
  const data = new URLSearchParams(url!.slice(q + 1)).get('data');
  if (data === null || data === '') return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(data.replaceAll(' ', '+'), 'base64').toString('utf8'));
    return isJsonObject(value) ? value : undefined;
  } catch {
    // Not JSON: the Pixel API answers 200 regardless and stores nothing.
    return undefined;
  }
}
