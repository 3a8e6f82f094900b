export { loadAnalyticsBundle, type AnalyticsBundle } from './bundle.ts';
export { createCdnHandler, type CdnDeps, type CdnHandler, type CdnOptions, type CdnSourceLookup, type ReadyRequest } from './cdn-handler.ts';
export type { ReadyAnswer } from './prepared-asset.ts';
export { cdnSettings, type CdnSettings } from './settings.ts';
export { aliasPathOf, renderAliasSnippet, renderSnippet, type AliasSnippetOptions, type SnippetOptions } from './snippet.ts';
export { PATCHED_LITERALS, patchStandalone, segmentHostMentions, type PatchTarget } from './patch.ts';
export { CdnErrors } from './errors.ts';
export type { HostHandler, Logger, NodeRequest, NodeResponse } from './http-types.ts';
