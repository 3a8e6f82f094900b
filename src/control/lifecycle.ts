import type { DomainReason, DomainState, DomainStateKind } from '../core/index.ts';

/** What happened to a domain; the input of {@link nextState}. */
export type DomainEvent =
  | { readonly type: 'delegation_confirmed' }
  | { readonly type: 'issuance_started'; readonly attempt: number }
  | { readonly type: 'certificate_installed' }
  | { readonly type: 'issuance_failed'; readonly reason: DomainReason; readonly message: string; readonly retryAt: number; readonly attempt: number }
  | { readonly type: 'removed' }
  | { readonly type: 'replaced'; readonly by: string };

/** The result of {@link nextState}: the new state, or why the event is not allowed now. */
export type TransitionResult =
  | { readonly ok: true; readonly state: DomainState; readonly reason: string; readonly message: string }
  | { readonly ok: false; readonly reason: 'forbidden_transition'; readonly message: string };

/** Which event types each state accepts (every other pair is forbidden). */
const ALLOWED: Readonly<Record<DomainStateKind, readonly DomainEvent['type'][]>> = {
  awaiting_delegation: ['delegation_confirmed', 'removed', 'replaced'],
  delegated: ['issuance_started', 'removed', 'replaced'],
  issuing: ['issuance_started', 'certificate_installed', 'issuance_failed', 'removed', 'replaced'],
  failed: ['issuance_started', 'removed', 'replaced'],
  active: ['removed', 'replaced'],
  removed: [],
  replaced: [],
};

/**
 * The one transition function of the custom-domain lifecycle:
 * `awaiting_delegation → delegated → issuing → active`, `issuing → failed → issuing`, and any
 * live state → `removed` / `replaced` (terminal). `issuing → issuing` restarts an interrupted
 * order. Pure: persistence (compare-and-set) is the caller's.
 */
export function nextState(current: DomainState, event: DomainEvent): TransitionResult {
  if (!ALLOWED[current.kind].includes(event.type)) {
    return { ok: false, reason: 'forbidden_transition', message: `cannot apply ${event.type} to a domain that is ${current.kind}` };
  }
  switch (event.type) {
    case 'delegation_confirmed':
      return done({ kind: 'delegated' }, 'delegation_confirmed', 'the parent zone delegates to our nameservers and they answer');
    case 'issuance_started':
      return done({ kind: 'issuing', attempt: event.attempt }, 'issuance_started', `certificate order started (attempt ${event.attempt})`);
    case 'certificate_installed':
      return done({ kind: 'active' }, 'certificate_installed', 'certificate issued and installed; both hosts serve HTTPS');
    case 'issuance_failed':
      return done(
        { kind: 'failed', phase: 'issuance', reason: event.reason, message: event.message, retryAt: event.retryAt, attempt: event.attempt },
        event.reason, event.message,
      );
    case 'removed':
      return done({ kind: 'removed' }, 'removed', 'custom domain removed');
    case 'replaced':
      return done({ kind: 'replaced', by: event.by }, 'replaced', `replaced by ${event.by}`);
    default:
      return assertNever(event);
  }
}

function done(state: DomainState, reason: string, message: string): TransitionResult {
  return { ok: true, state, reason, message };
}

function assertNever(x: never): never {
  throw new Error(`unhandled domain event ${JSON.stringify(x)}`);
}

/** Whether a state is terminal (no event is accepted any more). */
export function isTerminal(state: DomainState): boolean {
  return ALLOWED[state.kind].length === 0;
}
