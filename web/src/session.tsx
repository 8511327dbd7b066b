/**
 * The signed-in user: a bearer token kept in sessionStorage (gone when the browser tab closes),
 * checked with GET /api/v1/me. Signing out forgets it; a token the server stops accepting signs out.
 */
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, get, setBearer } from './api';
import type { Me, Settings } from './types';

/** Where the token is kept for this browser tab. */
export const TOKEN_KEY = 'invoiceflow.token';
const KEY = TOKEN_KEY;

interface SessionState {
  me: Me;
  settings: Settings;
  isAdmin: boolean;
  signOut(): void;
  /** Reads the company settings again (after an admin changed them). */
  reloadSettings(): Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

export function useSession(): SessionState {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

type Status =
  { kind: 'checking' } | { kind: 'signed-out'; message?: string } | { kind: 'signed-in'; token: string; me: Me; settings: Settings };

/** Checks a token with the server; the user and the company settings, or the server's refusal. */
async function check(token: string): Promise<{ me: Me; settings: Settings }> {
  const [me, settings] = await Promise.all([get<Me>('/me', { token }), get<Settings>('/settings', { token })]);
  return { me: me.data, settings: settings.data };
}

export function SessionProvider({ signIn, children }: { signIn: (props: SignInProps) => ReactNode; children: ReactNode }) {
  const [status, setStatus] = useState<Status>(() => (sessionStorage.getItem(KEY) ? { kind: 'checking' } : { kind: 'signed-out' }));

  const signOut = useCallback((message?: string) => {
    sessionStorage.removeItem(KEY);
    setBearer(null);
    setStatus(message ? { kind: 'signed-out', message } : { kind: 'signed-out' });
  }, []);

  const accept = useCallback(
    async (token: string) => {
      const { me, settings } = await check(token);
      sessionStorage.setItem(KEY, token);
      setBearer(token, () => signOut('Your session has ended: the server no longer accepts the token. Sign in again.'));
      setStatus({ kind: 'signed-in', token, me, settings });
    },
    [signOut],
  );

  useEffect(() => {
    const saved = sessionStorage.getItem(KEY);
    if (!saved) return;
    accept(saved).catch((err: unknown) =>
      signOut(
        err instanceof ApiError && err.status === 401 ? 'The saved token is no longer valid. Sign in again.' : (err as Error).message,
      ),
    );
  }, [accept, signOut]);

  const value = useMemo<SessionState | null>(() => {
    if (status.kind !== 'signed-in') return null;
    return {
      me: status.me,
      settings: status.settings,
      isAdmin: status.me.roles.includes('admin'),
      signOut: () => {
        // The next person to sign in starts at their own queue, not at this user's last page.
        window.history.replaceState(null, '', '/');
        signOut();
      },
      reloadSettings: async () => {
        const settings = (await get<Settings>('/settings')).data;
        setStatus((s) => (s.kind === 'signed-in' ? { ...s, settings } : s));
      },
    };
  }, [status, signOut]);

  if (status.kind === 'checking') {
    return (
      <p className="loading" role="status">
        Signing in…
      </p>
    );
  }
  if (status.kind === 'signed-out' || !value) {
    return <>{signIn({ accept, ...(status.kind === 'signed-out' && status.message ? { message: status.message } : {}) })}</>;
  }
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export interface SignInProps {
  /** Checks the token with the server and keeps it; throws the server's refusal. */
  accept(token: string): Promise<void>;
  message?: string;
}
