/** The page: sign-in, then the work queue, invoice details, sales (clerks and admins) and (for admins) administration. */
import { useEffect, type ReactNode } from 'react';
import { AdminPage } from './pages/admin/AdminPage';
import { InvoicePage } from './pages/InvoicePage';
import { SalesPage } from './pages/SalesPage';
import { SignIn } from './pages/SignIn';
import { WorkQueuePage } from './pages/WorkQueuePage';
import { Link, match, navigate, useLocation } from './router';
import { SessionProvider, useSession } from './session';

export function App() {
  return (
    <SessionProvider signIn={(props) => <SignIn {...props} />}>
      <Layout>
        <Routes />
      </Layout>
    </SessionProvider>
  );
}

function Routes() {
  const { path } = useLocation();
  const { isAdmin } = useSession();
  const invoice = match('/invoices/:id', path);
  useEffect(() => {
    if (path === '/' || path === '') navigate('/queue', { replace: true });
  }, [path]);
  if (path === '/queue') return <WorkQueuePage />;
  if (path === '/sales') return <SalesPage />;
  if (invoice) return <InvoicePage key={invoice.id} id={invoice.id!} />;
  if (path === '/admin' || path.startsWith('/admin/')) {
    return isAdmin ? <AdminPage path={path} /> : <NotFound text="Administration is for admins." />;
  }
  if (path === '/' || path === '') return null;
  return <NotFound text={`Nothing is at ${path}.`} />;
}

function NotFound({ text }: { text: string }) {
  return (
    <section>
      <h1>Not found</h1>
      <p>{text}</p>
      <p>
        <Link to="/queue">Go to your work queue</Link>
      </p>
    </section>
  );
}

function Layout({ children }: { children: ReactNode }) {
  const { me, isAdmin, signOut } = useSession();
  const { path } = useLocation();
  const current = (prefix: string) => (path.startsWith(prefix) ? ('page' as const) : undefined);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">invoiceflow</span>
        <nav aria-label="Main">
          <ul>
            <li>
              <Link to="/queue" aria-current={current('/queue')}>
                Work queue
              </Link>
            </li>
            {(isAdmin || me.roles.includes('clerk')) && (
              <li>
                <Link to="/sales" aria-current={current('/sales')}>
                  Sales
                </Link>
              </li>
            )}
            {isAdmin && (
              <li>
                <Link to="/admin/agreements" aria-current={current('/admin')}>
                  Administration
                </Link>
              </li>
            )}
          </ul>
        </nav>
        <div className="who">
          <span>
            {me.name}{' '}
            <span className="muted">
              ({me.roles.join(', ') || 'no role'}, {me.company.name})
            </span>
          </span>
          <button type="button" className="secondary" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
