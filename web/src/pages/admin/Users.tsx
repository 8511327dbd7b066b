/** Users: roles, groups, approval limits per currency, cost-centre rights, clearance; deactivated, never deleted; tokens issued once. */
import { useState, type FormEvent } from 'react';
import { all, call, get } from '../../api';
import { Notice, Show, useLoad } from '../../components/common';
import { ErrorSummary, Field, formError, GroupErrors, joinList, splitList, type FormError } from '../../components/forms';
import { decimal } from '../../format';
import { Link, navigate } from '../../router';
import type { User } from '../../types';
import { Flash, setFlash } from './shared';

const ROLES = ['clerk', 'reviewer', 'approver', 'admin', 'auditor'] as const;
const PERMISSIONS = ['review:override', 'environment:admin'] as const;

const limitText = (l: { currency: string; amount: string | null }) =>
  `${l.currency === '*' ? 'any currency' : l.currency} ${l.amount === null ? 'no limit' : decimal(l.amount)}`;

export function UserList() {
  const [loaded] = useLoad(() => all<User>('/users'), []);
  return (
    <section aria-labelledby="users-heading">
      <h1 id="users-heading">Users</h1>
      <Flash />
      <p>
        <Link to="/admin/users/new" className="button">
          New user
        </Link>
      </p>
      <Show loaded={loaded}>
        {(users) => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">User id</th>
                  <th scope="col">Name</th>
                  <th scope="col">Roles</th>
                  <th scope="col">Groups</th>
                  <th scope="col">Approval limits</th>
                  <th scope="col">Active</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {users.map((u) => (
                  <tr key={u.id} className={u.active ? undefined : 'inactive'}>
                    <td>
                      <code>{u.id}</code>
                    </td>
                    <td>{u.name}</td>
                    <td>{u.roles.join(', ') || '–'}</td>
                    <td>{u.groups.join(', ') || '–'}</td>
                    <td>{u.approvalLimits.map(limitText).join('; ') || '–'}</td>
                    <td>{u.active ? 'yes' : 'no'}</td>
                    <td>
                      <Link to={`/admin/users/${encodeURIComponent(u.id)}`} aria-label={`Edit user ${u.name}`}>
                        Edit
                      </Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Show>
    </section>
  );
}

export function UserForm({ id }: { id: string | undefined }) {
  const [loaded] = useLoad(async () => (id ? await get<User>(`/users/${encodeURIComponent(id)}`) : null), [id]);
  return <Show loaded={loaded}>{(answer) => <UserEditor user={answer?.data ?? null} etag={answer?.etag ?? null} />}</Show>;
}

function UserEditor({ user, etag }: { user: User | null; etag: string | null }) {
  const [draft, setDraft] = useState(() => ({
    id: user?.id ?? '',
    name: user?.name ?? '',
    email: user?.email ?? '',
    roles: new Set(user?.roles ?? []),
    permissions: new Set(user?.permissions ?? []),
    groups: joinList(user?.groups),
    costCentres: joinList(user?.costCentres),
    confidential: user?.confidential ?? false,
    active: user?.active ?? true,
    limits: (user?.approvalLimits ?? []).map((l) => ({ currency: l.currency, amount: l.amount ?? '' })),
  }));
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
  const [token, setToken] = useState<string | null>(null);
  const set = (patch: Partial<typeof draft>) => setDraft((d) => ({ ...d, ...patch }));
  const toggle = (key: 'roles' | 'permissions', value: string) =>
    setDraft((d) => {
      const next = new Set(d[key]);
      if (next.has(value)) next.delete(value);
      else next.add(value);
      return { ...d, [key]: next };
    });
  const updateLimit = (i: number, patch: Partial<{ currency: string; amount: string }>) =>
    set({ limits: draft.limits.map((l, j) => (j === i ? { ...l, ...patch } : l)) });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body = {
      ...(user ? {} : { id: draft.id.trim() }),
      name: draft.name.trim(),
      email: draft.email.trim(),
      roles: [...draft.roles],
      permissions: [...draft.permissions],
      groups: splitList(draft.groups),
      costCentres: splitList(draft.costCentres),
      confidential: draft.confidential,
      active: draft.active,
      approvalLimits: draft.limits.map((l) => ({
        currency: l.currency.trim().toUpperCase(),
        amount: l.amount.trim() === '' ? null : l.amount.trim(),
      })),
    };
    try {
      if (user) await call('PATCH', `/users/${encodeURIComponent(user.id)}`, { body, headers: etag ? { 'if-match': etag } : {} });
      else await call('POST', '/users', { body });
      setFlash(user ? 'User saved.' : 'User created.');
      navigate('/admin/users');
    } catch (err) {
      setError(formError(err));
      setBusy(false);
    }
  };

  const issueToken = async () => {
    if (!user) return;
    setError(null);
    try {
      const res = await call<{ token: string }>('POST', `/users/${encodeURIComponent(user.id)}/tokens`, {
        body: { label: 'issued on the web page' },
      });
      setToken(res.data.token);
    } catch (err) {
      setError(formError(err));
    }
  };

  return (
    <section aria-labelledby="user-form-heading">
      <h1 id="user-form-heading">{user ? `Edit user ${user.name}` : 'New user'}</h1>
      <form onSubmit={(e) => void submit(e)} noValidate className="admin-form">
        <ErrorSummary error={error} />
        {!user && (
          <Field label="User id" path="id" error={error} hint='Lowercase, such as "demo.frank"'>
            {(a11y) => <input {...a11y} value={draft.id} onChange={(e) => set({ id: e.target.value })} />}
          </Field>
        )}
        <div className="pair">
          <Field label="Name" path="name" error={error}>
            {(a11y) => <input {...a11y} autoComplete="off" value={draft.name} onChange={(e) => set({ name: e.target.value })} />}
          </Field>
          <Field label="E-mail" path="email" error={error}>
            {(a11y) => (
              <input {...a11y} type="email" autoComplete="off" value={draft.email} onChange={(e) => set({ email: e.target.value })} />
            )}
          </Field>
        </div>
        <fieldset>
          <legend>Roles</legend>
          <GroupErrors error={error} path="roles" />
          {ROLES.map((r) => (
            <div className="field checkbox" key={r}>
              <input id={`role-${r}`} type="checkbox" checked={draft.roles.has(r)} onChange={() => toggle('roles', r)} />
              <label htmlFor={`role-${r}`}>{r}</label>
            </div>
          ))}
        </fieldset>
        <fieldset>
          <legend>Permissions beyond the roles</legend>
          <GroupErrors error={error} path="permissions" />
          {PERMISSIONS.map((p) => (
            <div className="field checkbox" key={p}>
              <input id={`permission-${p}`} type="checkbox" checked={draft.permissions.has(p)} onChange={() => toggle('permissions', p)} />
              <label htmlFor={`permission-${p}`}>{p}</label>
            </div>
          ))}
        </fieldset>
        <div className="pair">
          <Field label="Groups (comma separated)" path="groups" error={error}>
            {(a11y) => <input {...a11y} value={draft.groups} onChange={(e) => set({ groups: e.target.value })} />}
          </Field>
          <Field label="Cost centres it may approve" path="costCentres" error={error} hint="Empty: every cost centre">
            {(a11y) => <input {...a11y} value={draft.costCentres} onChange={(e) => set({ costCentres: e.target.value })} />}
          </Field>
        </div>
        <fieldset>
          <legend>Approval limits</legend>
          <GroupErrors error={error} path="approvalLimits" />
          {draft.limits.map((l, i) => (
            <div className="pair" key={i}>
              <Field
                label={`Currency of limit ${i + 1}`}
                path={`approvalLimits.${i}.currency`}
                error={error}
                hint='"*" for every other currency'
              >
                {(a11y) => <input {...a11y} value={l.currency} onChange={(e) => updateLimit(i, { currency: e.target.value })} />}
              </Field>
              <Field label={`Amount of limit ${i + 1}`} path={`approvalLimits.${i}.amount`} error={error} hint="Empty: no limit">
                {(a11y) => (
                  <input {...a11y} inputMode="decimal" value={l.amount} onChange={(e) => updateLimit(i, { amount: e.target.value })} />
                )}
              </Field>
              <button type="button" className="secondary" onClick={() => set({ limits: draft.limits.filter((_, j) => j !== i) })}>
                Remove limit {i + 1}
              </button>
            </div>
          ))}
          <button type="button" className="secondary" onClick={() => set({ limits: [...draft.limits, { currency: '*', amount: '' }] })}>
            Add a limit
          </button>
        </fieldset>
        <div className="field checkbox">
          <input
            id="user-confidential"
            type="checkbox"
            checked={draft.confidential}
            onChange={(e) => set({ confidential: e.target.checked })}
          />
          <label htmlFor="user-confidential">Cleared for confidential invoices</label>
        </div>
        <div className="field checkbox">
          <input id="user-active" type="checkbox" checked={draft.active} onChange={(e) => set({ active: e.target.checked })} />
          <label htmlFor="user-active">Active</label>
        </div>
        <div className="buttons">
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : user ? 'Save user' : 'Create user'}
          </button>
          {user && (
            <button type="button" className="secondary" onClick={() => void issueToken()}>
              Issue a bearer token
            </button>
          )}
          <Link to="/admin/users" className="button secondary">
            Cancel
          </Link>
        </div>
        {token && (
          <Notice kind="ok">
            <p>
              New token for {user?.id}: <code>{token}</code>. It is shown only this once: hand it over now.
            </p>
          </Notice>
        )}
      </form>
    </section>
  );
}
