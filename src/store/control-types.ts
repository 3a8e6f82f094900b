/**
 * Repositories of the control plane's own records: request metadata of custom domains, admin
 * tokens, the audit log, takeover claims and webhooks with their delivery log. Same contract as
 * {@link import('./types.ts').Store}: lookups that find nothing resolve to `undefined`.
 */
export interface ControlRepos {
  readonly domainRequests: DomainRequestRepo;
  readonly tokens: TokenRepo;
  readonly audit: AuditLog;
  readonly claims: ClaimRepo;
  readonly webhooks: WebhookRepo;
}

/** What the request form carried for one custom domain, and its links to related domains. */
export interface DomainRequestRecord {
  readonly domainId: string;
  readonly subject: string;
  readonly description: string | null;
  readonly usesCsp: boolean;
  /** For an additional domain name: the primary domain of the same request. */
  readonly primaryDomainId: string | null;
  /** For a subdomain change: the domain this one replaces once active. */
  readonly replacesDomainId: string | null;
  /** When "check now" was last accepted (ms epoch), for rate limiting. */
  readonly checkRequestedAt: number | null;
  readonly createdAt: number;
}

/** Request metadata per custom domain. */
export interface DomainRequestRepo {
  put(r: DomainRequestRecord): Promise<void>;
  get(domainId: string): Promise<DomainRequestRecord | undefined>;
  /** The live domain that replaces `domainId`, if a change is in progress. */
  replacementOf(domainId: string): Promise<string | undefined>;
  /**
   * Compare-and-set of the "check now" time: records `at` only when the previous request is
   * older than `minIntervalMs`; resolves to whether it was recorded.
   */
  markCheckRequested(domainId: string, at: number, minIntervalMs: number): Promise<boolean>;
  /**
   * Moves every source link of `fromId` to `toId` in one transaction (a subdomain change
   * completing); the one-domain-per-source rule holds throughout.
   */
  moveSources(fromId: string, toId: string): Promise<void>;
  /** Every workspace that ever held a custom domain with this name (any state). */
  holdersOf(domain: string): Promise<string[]>;
}

/** A bearer token scoped to one workspace, or to everything (`workspaceId` null). */
export interface TokenRecord {
  readonly id: string;
  /** SHA-256 (hex) of the token; the token itself is never stored. */
  readonly hash: string;
  readonly workspaceId: string | null;
  readonly name: string;
  readonly createdAt: number;
  readonly revokedAt: number | null;
}

/** Admin tokens. */
export interface TokenRepo {
  create(t: TokenRecord): Promise<void>;
  byHash(hash: string): Promise<TokenRecord | undefined>;
  listByWorkspace(workspaceId: string): Promise<TokenRecord[]>;
  revoke(id: string, at: number): Promise<boolean>;
}

/** One recorded admin change. */
export interface AuditEntry {
  readonly seq: number;
  readonly at: number;
  /** `operator` or `token:<id>`. */
  readonly actor: string;
  readonly workspaceId: string | null;
  /** Stable action name, e.g. `domain.request`. */
  readonly action: string;
  readonly target: string | null;
  readonly detail: Readonly<Record<string, unknown>>;
}

/** Append-only audit log of admin changes. */
export interface AuditLog {
  append(e: Omit<AuditEntry, 'seq'>): Promise<void>;
  /** Newest first; `workspaceId` undefined lists every entry. */
  list(workspaceId: string | undefined, limit: number): Promise<AuditEntry[]>;
}

/** A takeover claim: the TXT token a workspace must publish in the parent zone. */
export interface ClaimRecord {
  readonly domain: string;
  readonly workspaceId: string;
  readonly token: string;
  readonly createdAt: number;
  readonly verifiedAt: number | null;
}

/** Takeover claims, one per (domain, workspace). */
export interface ClaimRepo {
  /** Creates the claim unless one exists; resolves to the stored claim either way. */
  ensure(c: ClaimRecord): Promise<ClaimRecord>;
  get(domain: string, workspaceId: string): Promise<ClaimRecord | undefined>;
  markVerified(domain: string, workspaceId: string, at: number): Promise<void>;
}

/** A registered webhook endpoint. */
export interface WebhookRecord {
  readonly id: string;
  readonly workspaceId: string;
  readonly url: string;
  /** HMAC-SHA256 key of the signatures. */
  readonly secret: string;
  readonly createdAt: number;
}

/** Status of one webhook delivery. */
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One event to deliver to one webhook, with its retry schedule. */
export interface DeliveryRecord {
  readonly id: string;
  readonly webhookId: string;
  readonly event: string;
  /** The exact JSON body that is signed and sent. */
  readonly body: string;
  readonly status: DeliveryStatus;
  readonly attempts: number;
  /** When the next attempt is due (ms epoch), null once delivered or failed. */
  readonly nextAttemptAt: number | null;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** Webhooks and their persistent delivery log (the retry schedule lives here). */
export interface WebhookRepo {
  create(w: WebhookRecord): Promise<void>;
  get(id: string): Promise<WebhookRecord | undefined>;
  listByWorkspace(workspaceId: string): Promise<WebhookRecord[]>;
  /** Deletes the webhook; pending deliveries are marked failed. */
  remove(id: string, at: number): Promise<boolean>;
  enqueue(d: DeliveryRecord): Promise<void>;
  /** Pending deliveries due at or before `now`, oldest first. */
  due(now: number, limit: number): Promise<DeliveryRecord[]>;
  /** Records an attempt's outcome. */
  recordAttempt(id: string, outcome: Pick<DeliveryRecord, 'status' | 'attempts' | 'nextAttemptAt' | 'lastStatusCode' | 'lastError' | 'updatedAt'>): Promise<void>;
  deliveries(webhookId: string, limit: number): Promise<DeliveryRecord[]>;
}
