export { loadAnalyticsBundle, type AnalyticsBundle } from './bundle.ts';
export { createCdnHandler, type CdnDeps, type CdnOptions, type CdnSourceLookup } from './cdn-handler.ts';
export { cdnSettings, type CdnSettings } from './settings.ts';
export { aliasPathOf, renderAliasSnippet, renderSnippet, type AliasSnippetOptions, type SnippetOptions } from './snippet.ts';
export { PATCHED_LITERALS, patchStandalone, segmentHostMentions, type PatchTarget } from './patch.ts';
export { CdnErrors } from './errors.ts';
export type { HostHandler, Logger, NodeRequest, NodeResponse } from './http-types.ts';
