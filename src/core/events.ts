/**
 * A typed, synchronous, in-process event bus. `M` maps each event name to its payload type.
 * Listeners run in registration order; a listener that throws is reported to `onError` and does
 * not stop the others.
 */
export class EventBus<M extends object> {
  private readonly listeners = new Map<keyof M, Array<(payload: never) => void>>();

  constructor(private readonly onError: (err: unknown, event: keyof M) => void = () => {}) {}

  /** Subscribes to `event`; returns a function that unsubscribes. */
  on<K extends keyof M>(event: K, listener: (payload: M[K]) => void): () => void {
    const list = this.listeners.get(event) ?? [];
    list.push(listener as (payload: never) => void);
    this.listeners.set(event, list);
    return () => {
      const i = list.indexOf(listener as (payload: never) => void);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Delivers `payload` to every listener of `event`. */
  emit<K extends keyof M>(event: K, payload: M[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) {
      try {
        (listener as (p: M[K]) => void)(payload);
      } catch (err) {
        this.onError(err, event);
      }
    }
  }
}
