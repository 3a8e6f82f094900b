import { AppError } from '../core/index.ts';
import { ControlErrors } from './errors.ts';

/** The custom-domain request form (the fields of Segment's request), validated but not yet normalised. */
export interface DomainRequestForm {
  /** Short title of the request; default `Custom domain <domain>`. At most 200 characters. */
  readonly subject: string | null;
  /** The subdomain to delegate, e.g. `cdp.shop.com`. */
  readonly domain: unknown;
  /** Optional second subdomain with its own zone (e.g. for another site), served for `additionalSourceIds`. */
  readonly additionalDomain: unknown;
  /** Sources served by `domain`: non-empty, ids of this workspace. */
  readonly sourceIds: readonly string[];
  /** Sources served by `additionalDomain` (a source uses one custom domain, so these differ from `sourceIds`). */
  readonly additionalSourceIds: readonly string[];
  /** Whether the site sends a Content Security Policy; the response then lists the directives to add. Default false. */
  readonly usesCsp: boolean;
  /** Free text (may name more workspaces and sources); at most 2,000 characters. */
  readonly description: string | null;
}

/** Reads and checks the request form's types and sizes; throws `ERR_CONTROL_INVALID_INPUT` (400). */
export function parseRequestForm(input: Record<string, unknown>): DomainRequestForm {
  const additional = input.additionalDomain ?? null;
  const additionalSourceIds = additional === null ? [] : ids(input.additionalSourceIds, 'additionalSourceIds');
  const sourceIds = ids(input.sourceIds, 'sourceIds');
  if (additionalSourceIds.some((s) => sourceIds.includes(s))) {
    throw new AppError(ControlErrors.INVALID_INPUT, 'a source can use one custom domain: "additionalSourceIds" must not repeat "sourceIds"');
  }
  if (input.usesCsp !== undefined && typeof input.usesCsp !== 'boolean') throw new AppError(ControlErrors.INVALID_INPUT, '"usesCsp" must be true or false');
  return {
    subject: optionalText(input, 'subject', 200), domain: input.domain, additionalDomain: additional, sourceIds, additionalSourceIds,
    usesCsp: input.usesCsp === true, description: optionalText(input, 'description', 2000),
  };
}

function ids(v: unknown, key: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 100 || !v.every((x) => typeof x === 'string')) {
    throw new AppError(ControlErrors.INVALID_INPUT, `"${key}" must be a non-empty array of source ids`);
  }
  return [...new Set(v as string[])];
}

function optionalText(input: Record<string, unknown>, key: string, max: number): string | null {
  const v = input[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new AppError(ControlErrors.INVALID_INPUT, `"${key}" must be a string`);
  if (v.length > max) throw new AppError(ControlErrors.INVALID_INPUT, `"${key}" must be at most ${max} characters`);
  return v.trim() === '' ? null : v.trim();
}
