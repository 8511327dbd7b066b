/** Coding templates: rows as percentages of the net (exactly 100 %), the tax coding; deactivated rather than deleted once in use. */
import { useState, type FormEvent } from 'react';
import { all, call, get } from '../../api';
import { Notice, Show, useLoad } from '../../components/common';
import { ErrorSummary, Field, formatDimensions, formError, GroupErrors, parseDimensions, type FormError } from '../../components/forms';
import { decimal } from '../../format';
import { Link, navigate } from '../../router';
import type { CodingTemplate } from '../../types';
import { Flash, orNull, setFlash } from './shared';

export function CodingTemplateList() {
  const [loaded, reload] = useLoad(() => all<CodingTemplate>('/coding-templates'), []);
  const [answer, setAnswer] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const act = async (text: string, f: () => Promise<unknown>) => {
    setAnswer(null);
    try {
      await f();
      setAnswer({ kind: 'ok', text });
      await reload();
    } catch (err) {
      setAnswer({ kind: 'error', text: formError(err).message });
    }
  };
  return (
    <section aria-labelledby="coding-templates-heading">
      <h1 id="coding-templates-heading">Coding templates</h1>
      <Flash />
      <p>
        <Link to="/admin/coding-templates/new" className="button">
          New coding template
        </Link>
      </p>
      {answer && (
        <Notice kind={answer.kind}>
          <p>{answer.text}</p>
        </Notice>
      )}
      <Show loaded={loaded}>
        {(templates) => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Rows</th>
                  <th scope="col">Tax</th>
                  <th scope="col">Default</th>
                  <th scope="col">Active</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {templates.map((t) => (
                  <tr key={t.id} className={t.active ? undefined : 'inactive'}>
                    <td>{t.name}</td>
                    <td>
                      <ul className="compact">
                        {t.rows.map((r, i) => (
                          <li key={i}>
                            {r.account}: {decimal(r.percent)} % {formatDimensions(r.dimensions)}
                          </li>
                        ))}
                      </ul>
                    </td>
                    <td>
                      {t.taxAccount}
                      {t.taxCode ? ` (${t.taxCode})` : ''}
                    </td>
                    <td>{t.isDefault ? 'yes' : 'no'}</td>
                    <td>{t.active ? 'yes' : 'no'}</td>
                    <td className="row-actions">
                      <Link to={`/admin/coding-templates/${t.id}`} aria-label={`Edit coding template ${t.name}`}>
                        Edit
                      </Link>
                      <button
                        type="button"
                        className="secondary"
                        aria-label={`${t.active ? 'Deactivate' : 'Reactivate'} coding template ${t.name}`}
                        onClick={() =>
                          void act(`Coding template "${t.name}" ${t.active ? 'deactivated' : 'reactivated'}.`, () =>
                            call('PATCH', `/coding-templates/${t.id}`, {
                              headers: { 'if-match': `"v${t.version}"` },
                              body: { active: !t.active },
                            }),
                          )
                        }
                      >
                        {t.active ? 'Deactivate' : 'Reactivate'}
                      </button>
                      <button
                        type="button"
                        className="danger"
                        aria-label={`Delete coding template ${t.name}`}
                        onClick={() => {
                          if (window.confirm(`Delete the coding template "${t.name}"?`))
                            void act(`Coding template "${t.name}" deleted.`, () =>
                              call('DELETE', `/coding-templates/${t.id}`, { headers: { 'if-match': `"v${t.version}"` } }),
                            );
                        }}
                      >
                        Delete
                      </button>
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

interface RowDraft {
  account: string;
  percent: string;
  dimensions: string;
  taxCode: string;
}

export function CodingTemplateForm({ id }: { id: string | undefined }) {
  const [loaded] = useLoad(async () => (id ? await get<CodingTemplate>(`/coding-templates/${id}`) : null), [id]);
  return <Show loaded={loaded}>{(answer) => <CodingTemplateEditor template={answer?.data ?? null} etag={answer?.etag ?? null} />}</Show>;
}

function CodingTemplateEditor({ template, etag }: { template: CodingTemplate | null; etag: string | null }) {
  const [name, setName] = useState(template?.name ?? '');
  const [isDefault, setIsDefault] = useState(template?.isDefault ?? false);
  const [taxAccount, setTaxAccount] = useState(template?.taxAccount ?? '');
  const [taxCode, setTaxCode] = useState(template?.taxCode ?? '');
  const [rows, setRows] = useState<RowDraft[]>(() =>
    template
      ? template.rows.map((r) => ({
          account: r.account,
          percent: r.percent,
          dimensions: formatDimensions(r.dimensions),
          taxCode: r.taxCode ?? '',
        }))
      : [{ account: '', percent: '100', dimensions: '', taxCode: '' }],
  );
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
  const update = (i: number, patch: Partial<RowDraft>) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body = {
      name: name.trim(),
      isDefault,
      taxAccount: taxAccount.trim(),
      taxCode: orNull(taxCode),
      rows: rows.map((r) => {
        const dimensions = parseDimensions(r.dimensions);
        return {
          account: r.account.trim(),
          percent: r.percent.trim(),
          ...(Object.keys(dimensions).length ? { dimensions } : {}),
          ...(r.taxCode.trim() ? { taxCode: r.taxCode.trim() } : {}),
        };
      }),
    };
    try {
      if (template) await call('PUT', `/coding-templates/${template.id}`, { body, headers: etag ? { 'if-match': etag } : {} });
      else await call('POST', '/coding-templates', { body });
      setFlash(template ? 'Coding template saved.' : 'Coding template created.');
      navigate('/admin/coding-templates');
    } catch (err) {
      setError(formError(err));
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="coding-template-form-heading">
      <h1 id="coding-template-form-heading">{template ? `Edit coding template ${template.name}` : 'New coding template'}</h1>
      <form onSubmit={(e) => void submit(e)} noValidate className="admin-form">
        <ErrorSummary error={error} />
        <Field label="Name" path="name" error={error}>
          {(a11y) => <input {...a11y} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <div className="field checkbox">
          <input id="coding-default" type="checkbox" checked={isDefault} onChange={(e) => setIsDefault(e.target.checked)} />
          <label htmlFor="coding-default">The company's default coding</label>
        </div>
        <GroupErrors error={error} path="rows" />
        {rows.map((r, i) => (
          <fieldset key={i} className="row-fields">
            <legend>Row {i + 1}</legend>
            <Field label="Account" path={`rows.${i}.account`} error={error}>
              {(a11y) => <input {...a11y} value={r.account} onChange={(e) => update(i, { account: e.target.value })} />}
            </Field>
            <Field label="Percent of net" path={`rows.${i}.percent`} error={error}>
              {(a11y) => <input {...a11y} inputMode="decimal" value={r.percent} onChange={(e) => update(i, { percent: e.target.value })} />}
            </Field>
            <Field label="Dimensions" path={`rows.${i}.dimensions`} error={error} hint="costCentre=CC-100, project=P-7">
              {(a11y) => <input {...a11y} value={r.dimensions} onChange={(e) => update(i, { dimensions: e.target.value })} />}
            </Field>
            <Field label="Tax code" path={`rows.${i}.taxCode`} error={error}>
              {(a11y) => <input {...a11y} value={r.taxCode} onChange={(e) => update(i, { taxCode: e.target.value })} />}
            </Field>
            <button
              type="button"
              className="secondary"
              disabled={rows.length === 1}
              onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}
            >
              Remove row {i + 1}
            </button>
          </fieldset>
        ))}
        <button
          type="button"
          className="secondary"
          onClick={() => setRows((rs) => [...rs, { account: '', percent: '', dimensions: '', taxCode: '' }])}
        >
          Add a row
        </button>
        <div className="pair">
          <Field label="Tax account" path="taxAccount" error={error}>
            {(a11y) => <input {...a11y} value={taxAccount} onChange={(e) => setTaxAccount(e.target.value)} />}
          </Field>
          <Field label="Tax code (optional)" path="taxCode" error={error}>
            {(a11y) => <input {...a11y} value={taxCode} onChange={(e) => setTaxCode(e.target.value)} />}
          </Field>
        </div>
        <div className="buttons">
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : template ? 'Save coding template' : 'Create coding template'}
          </button>
          <Link to="/admin/coding-templates" className="button secondary">
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}
