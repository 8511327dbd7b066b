/** Small shared pieces: badges, status messages, loading of data. */
import { useCallback, useEffect, useRef, useState, type DependencyList, type ReactNode } from 'react';
import { reviewName, stageName } from '../format';
import { formError, type FormError } from './forms';

export function StageBadge({ stage }: { stage: string }) {
  return <span className={`badge stage-${stage}`}>{stageName(stage)}</span>;
}

export function ReviewBadge({ status }: { status: string }) {
  return <span className={`badge review-${status}`}>{reviewName(status)}</span>;
}

/** A message that screen readers announce politely: `ok` green, otherwise red. */
export function Notice({ kind, children }: { kind: 'ok' | 'error' | 'info'; children: ReactNode }) {
  return (
    <div className={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export type Loaded<T> = { state: 'loading' } | { state: 'error'; error: FormError } | { state: 'ready'; value: T };

/** Loads `load()` when `deps` change; `reload` loads again and keeps showing the old value meanwhile. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: DependencyList): [Loaded<T>, () => Promise<void>] {
  const [loaded, setLoaded] = useState<Loaded<T>>({ state: 'loading' });
  const latest = useRef(load);
  latest.current = load;
  const controller = useRef<AbortController | null>(null);
  const run = useCallback(async () => {
    controller.current?.abort();
    const c = new AbortController();
    controller.current = c;
    try {
      const value = await latest.current(c.signal);
      if (!c.signal.aborted) setLoaded({ state: 'ready', value });
    } catch (err) {
      if (!c.signal.aborted && (err as Error).name !== 'AbortError') setLoaded({ state: 'error', error: formError(err) });
    }
  }, []);
  useEffect(() => {
    setLoaded({ state: 'loading' });
    void run();
    return () => controller.current?.abort();
  }, deps);
  return [loaded, run];
}

/** Loading and error states of a Loaded value; the content once it is ready. */
export function Show<T>({ loaded, children }: { loaded: Loaded<T>; children: (value: T) => ReactNode }) {
  if (loaded.state === 'loading')
    return (
      <p className="loading" role="status">
        Loading…
      </p>
    );
  if (loaded.state === 'error')
    return (
      <Notice kind="error">
        <p>{loaded.error.message}</p>
      </Notice>
    );
  return <>{children(loaded.value)}</>;
}

/** Sets the document title, so each view is named in the tab and in the history. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · invoiceflow`;
  }, [title]);
}
